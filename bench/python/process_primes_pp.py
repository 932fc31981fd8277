# The process_primes job on Python's ProcessPoolExecutor and multiprocessing.Pool:
# blocks of 100,000 numbers, trial division by 2, 3 and 6k +- 1, 2 workers.
import sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool

def is_prime(n):
    if n < 4:
        return n >= 2
    if n % 2 == 0 or n % 3 == 0:
        return False
    d = 5
    while d * d <= n:
        if n % d == 0 or n % (d + 2) == 0:
            return False
        d += 6
    return True

def primes_in(block):
    lo, hi = block
    return [n for n in range(lo, hi) if is_prime(n)]

def noop(x):
    return x

if __name__ == "__main__":
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    block = 100_000
    blocks = [(lo, min(lo + block, limit)) for lo in range(0, limit, block)]
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(noop, range(10)))
        t = time.perf_counter(); found = list(ex.map(primes_in, blocks)); t_pool = time.perf_counter() - t
        n = 5000
        t = time.perf_counter()
        for i in range(n):
            ex.submit(noop, i).result()
        rt = (time.perf_counter() - t) / n
    with Pool(2) as mp:
        mp.map(noop, range(10))
        t = time.perf_counter(); found2 = mp.map(primes_in, blocks); t_mp = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(n):
            mp.apply_async(noop, (i,)).get()
        rt_mp = (time.perf_counter() - t) / n
    t = time.perf_counter(); alone = [primes_in(b) for b in blocks]; t_one = time.perf_counter() - t
    assert found == alone == found2
    print(f"{sum(map(len, found)):,} primes in 0..{limit:,}")
    print(f"ProcessPoolExecutor(2): {t_pool:.3f} s (speed-up {t_one / t_pool:.2f}x); round trip {rt * 1e6:.0f} us")
    print(f"multiprocessing.Pool(2): {t_mp:.3f} s (speed-up {t_one / t_mp:.2f}x); round trip {rt_mp * 1e6:.0f} us")
    print(f"1 process: {t_one:.3f} s")

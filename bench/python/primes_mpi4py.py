# The cluster_primes job on mpi4py.futures.MPIPoolExecutor: blocks of BLOCK
# numbers below LIMIT, trial division by 2, 3 and 6k +- 1, each block's
# primes sent back. Run under mpirun with `python3 -m mpi4py.futures`
# (rank 0 is the executor's master, the other ranks its workers); prints
# "N primes in 0..LIMIT: T s". Used by cluster_primes_vs_mpi4py.py.
import sys, time
from mpi4py.futures import MPIPoolExecutor

from primes_job import primes_in


if __name__ == "__main__":
    limit, block = int(sys.argv[1]), int(sys.argv[2])
    blocks = [(lo, min(lo + block, limit)) for lo in range(0, limit, block)]
    with MPIPoolExecutor() as ex:
        list(ex.map(primes_in, [(0, 10)] * 8))  # every worker started
        t = time.perf_counter()
        found = list(ex.map(primes_in, blocks))
        t = time.perf_counter() - t
    print(f"{sum(map(len, found)):,} primes in 0..{limit:,}: {t:.3f} s")

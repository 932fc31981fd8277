# The primes job the side-by-side scripts run on every pool: trial division
# by 2, 3 and 6k +- 1, one block (lo, hi) at a time, as corepool's
# process_primes and cluster_primes examples do. A module of its own so
# that worker processes (multiprocessing, mpi4py.futures) import it by name.


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


def primes_in(bounds):
    lo, hi = bounds
    return [n for n in range(lo, hi) if is_prime(n)]

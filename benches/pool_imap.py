#!/usr/bin/env python3
"""The Python baseline for ppool's builtin echo: multiprocessing.Pool.imap.

Reads lines from stdin, sends each through an identity function in a pool
of -j worker processes with Pool.imap (input order kept, like `ppool imap`),
and writes the results to stdout.

    seq 10000000 | python3 benches/pool_imap.py -j 2 --chunksize 10000 >/dev/null
"""

import argparse
import multiprocessing
import os
import sys


def identity(line):
    return line


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunksize", type=int, default=10000)
    args = parser.parse_args()

    out = sys.stdout.buffer
    with multiprocessing.Pool(args.jobs) as pool:
        # Lines keep their trailing newline, so they are written back as-is.
        for line in pool.imap(identity, sys.stdin.buffer, chunksize=args.chunksize):
            out.write(line)
    out.flush()


if __name__ == "__main__":
    main()

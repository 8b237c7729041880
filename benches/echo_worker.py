#!/usr/bin/env python3
"""An echo worker for `ppool --worker`, written as a user would: each line
read from stdin is answered at once with the same line.

    seq 1000000 | ppool imap -j2 --chunksize 10000 --worker 'python3 benches/echo_worker.py'
"""

import sys

for line in sys.stdin:
    print(line, end="", flush=True)

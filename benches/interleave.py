#!/usr/bin/env python3
"""Start-up timings of a few commands, interleaved: each round runs every
command once, in turn (the order reversed every other round), and the
median of each command's runs is printed with its first quartile.

On a shared virtual machine the cost of starting a program drifts by a
tenth within a second or two, so commands timed one block after another
(as hyperfine times them) can differ by more than what is measured: the
same binary under two names read 1,877 and 1,736 µs that way, and within
30 µs interleaved. Use this to compare builds or modes at the start-up
scale; `compare.sh` for everything else.

    benches/interleave.py 800 "target/release/ppool imap true ::: 1" "xargs -a one true"

Each command is split as the shell would split it (no shell runs it) and
runs with stdin, stdout and stderr on /dev/null. The first 20 rounds warm
up and are not counted. With `--seconds` first, only the medians are
printed, in seconds, one a line in the order of the commands (for
`compare.sh`).
"""

import os
import shlex
import statistics
import sys
import time

WARMUP = 20


def main() -> None:
    args = sys.argv[1:]
    seconds = args[:1] == ["--seconds"]
    args = args[1:] if seconds else args
    if len(args) < 2 or not args[0].isdigit():
        sys.exit("usage: interleave.py [--seconds] ROUNDS COMMAND...")
    rounds = int(args[0])
    commands = args[1:]
    argvs = [shlex.split(c) for c in commands]
    null = os.open(os.devnull, os.O_RDWR)
    actions = [(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)]
    times = [[] for _ in commands]
    for r in range(WARMUP + rounds):
        order = range(len(commands))
        for i in reversed(order) if r % 2 else order:
            start = time.perf_counter_ns()
            pid = os.posix_spawnp(argvs[i][0], argvs[i], os.environ, file_actions=actions)
            os.waitpid(pid, 0)
            if r >= WARMUP:
                times[i].append((time.perf_counter_ns() - start) / 1000)
    for command, t in zip(commands, times):
        if seconds:
            print(statistics.median(t) / 1e6)
            continue
        q1 = statistics.quantiles(t, n=4)[0]
        print(f"{statistics.median(t):8.0f} µs  (q1 {q1:6.0f})  {command}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Render benches/compare.sh's measurements as one Markdown report.

    report.py FACTS.tsv RESULTS.tsv MAX_JOBS

FACTS.tsv: `key<TAB>value` lines (machine and tool versions).
RESULTS.tsv: `workload<TAB>jobs<TAB>tool<TAB>kind<TAB>value<TAB>units` lines,
kind `time` (value: median seconds) or `mem` (value: peak RSS in kB), value
`error` when the measurement failed; units: tasks or records it covers.
"""

import sys

# Per SPEC.md "Performance": allowed ratio, and the noise allowed on "no more
# than" comparisons between two ppool modes.
FLOOR_RATIO = 1.15
IMAP_NOISE = 1.05
BUILTIN_RATE = 5_000_000
STREAM_MB = 50
BIG_TASK_MB = 100
JMANY_MB = 16

WORKLOAD_ORDER = ["true", "echo", "shell", "imap", "builtin-echo", "worker", "memory", "startup", "submit",
                  "bigout", "bigout-imap", "jmany", "ssh"]


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def fmt_time(s):
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} µs"


def fmt_ratio(r):
    return "—" if r is None else f"{r:.2f}×"


def mb(kb):
    return kb / 1024


class Results:
    def __init__(self, rows):
        self.rows = []
        for workload, jobs, tool, kind, value, units in rows:
            self.rows.append(
                {
                    "workload": workload,
                    "jobs": int(jobs),
                    "tool": tool,
                    "kind": kind,
                    "value": None if value == "error" else float(value),
                    "units": int(units),
                }
            )

    def get(self, workload, jobs, tool):
        """The row, or None when it was not measured at all."""
        for r in self.rows:
            if r["workload"] == workload and r["jobs"] == jobs and r["tool"] == tool:
                return r
        return None

    def value(self, workload, jobs, tool):
        r = self.get(workload, jobs, tool)
        return None if r is None else r["value"]

    def jobs(self, workload):
        return sorted({r["jobs"] for r in self.rows if r["workload"] == workload})


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(res):
    out = [
        "| workload | jobs | tool | median | per task | vs xargs | vs floor |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    order = {w: i for i, w in enumerate(WORKLOAD_ORDER)}
    rows = sorted(res.rows, key=lambda r: (order.get(r["workload"], 99), r["jobs"]))
    for r in rows:
        w, j, tool, v = r["workload"], r["jobs"], r["tool"], r["value"]
        if v is None:
            out.append(f"| {w} | {j} | {tool} | error | — | — | — |")
            continue
        if r["kind"] == "mem":
            out.append(f"| {w} | {j} | {tool} | {mb(v):.1f} MB peak | — | — | — |")
            continue
        if w in ("builtin-echo", "worker"):
            per = f"{r['units'] / v / 1e6:.2f} M rec/s"
        elif w == "startup" or (w == "submit" and j == 1):
            per = "—"
        else:
            per = f"{v / r['units'] * 1e6:.0f} µs"
        vs_x = ratio(v, res.value(w, j, "xargs")) if tool != "xargs" else None
        vs_f = ratio(v, res.value(w, j, "floor")) if tool != "floor" else None
        out.append(
            f"| {w} | {j} | {tool} | {fmt_time(v)} | {per} | {fmt_ratio(vs_x)} | {fmt_ratio(vs_f)} |"
        )
    return out


def targets(res, max_jobs):
    """Yield (target, measured, verdict) for every SPEC performance target."""

    def verdict(ok, *rows):
        if any(r is None for r in rows):
            return "SKIP (not measured)"
        if any(r["value"] is None for r in rows):
            return "FAIL (error)"
        return "PASS" if ok() else "FAIL"

    def measured(text, *rows):
        if any(r is None or r["value"] is None for r in rows):
            return "—"
        return text()

    def compare(workload, jobs, tool, base, limit, name):
        a, b = res.get(workload, jobs, tool), res.get(workload, jobs, base)
        r = lambda: a["value"] / b["value"]  # noqa: E731
        return (
            f"{name} (`{workload}`, -j{jobs})",
            measured(lambda: f"{r():.2f}×", a, b),
            verdict(lambda: r() <= limit, a, b),
        )

    def bound(name, r, *rows):
        """A ratio that shows how far a target can be reached, not a target."""
        if any(row is None for row in rows):
            return (name, "—", "SKIP (not measured)")
        return (name, measured(lambda: f"{r():.2f}×", *rows), "(bound)")

    for j in res.jobs("true") or [max_jobs]:
        yield compare("true", j, "ppool", "floor", FLOOR_RATIO,
                      f"direct exec ≤ {FLOOR_RATIO}× spawn floor")
    for w in ("imap", "true", "echo"):
        for j in res.jobs(w) or ([max_jobs] if w == "imap" else []):
            yield compare(w, j, "ppool imap", "ppool", IMAP_NOISE,
                          f"imap ≤ unordered (+{IMAP_NOISE - 1:.0%} noise)")
    for j in res.jobs("shell") or [max_jobs]:
        yield compare("shell", j, "ppool", "floor", FLOOR_RATIO,
                      f"--shell ≤ {FLOOR_RATIO}× `sh -c` floor")

    b = res.get("builtin-echo", max_jobs, "ppool imap")
    rate = lambda: b["units"] / b["value"]  # noqa: E731
    yield (
        f"builtin echo (imap) > {BUILTIN_RATE:,} rec/s (-j{max_jobs})",
        measured(lambda: f"{rate():,.0f} rec/s", b),
        verdict(lambda: rate() > BUILTIN_RATE, b),
    )
    # Records per second against Python's Pool.imap in the same run.
    for workload, tool, least in (("builtin-echo", "ppool imap", 5.0), ("worker", "ppool imap --worker", 1.0)):
        for j in res.jobs(workload) or [max_jobs]:
            a, p = res.get(workload, j, tool), res.get(workload, j, "python Pool.imap")
            speed = lambda: p["value"] / a["value"]  # noqa: E731
            yield (
                f"{tool} ≥ {least:g}× Python Pool.imap (`{workload}`, -j{j})",
                measured(lambda: f"{speed():.2f}×", a, p),
                verdict(lambda: speed() >= least, a, p),
            )
            if workload == "worker":
                # The workers alone bound what any runner gets from them.
                f = res.get(workload, j, "floor")
                yield bound(f"its workers alone, records/s vs Pool.imap: the most a runner gets (`worker`, -j{j})",
                            lambda: p["value"] / f["value"], p, f)
                yield bound(f"`--worker` time vs its workers alone (`worker`, -j{j})",
                            lambda: a["value"] / f["value"], a, f)

    for tool in ("ppool", "ppool imap"):
        m = res.get("memory", max_jobs, tool)
        units = f"{m['units']:,}" if m else "?"
        yield (
            f"streaming peak < {STREAM_MB} MB (`{tool}` builtin echo, {units} records)",
            measured(lambda: f"{mb(m['value']):.1f} MB", m),
            verdict(lambda: mb(m["value"]) < STREAM_MB, m),
        )
    big = res.get("memory", 1, "ppool 1GB task")
    yield (
        f"1 GB task peak < {BIG_TASK_MB} MB",
        measured(lambda: f"{mb(big['value']):.1f} MB", big),
        verdict(lambda: mb(big["value"]) < BIG_TASK_MB, big),
    )

    yield compare("bigout", 1, "ppool", "floor", 1.2, "1 GB output (`unordered`) ≤ 1.2× `head | cat`")
    # A runner that keeps output whole moves it through a second pipe.
    a, f, r = (res.get("bigout", 1, t) for t in ("ppool", "floor", "floor (relay)"))
    yield bound("the relay floor vs `head | cat`: the least for output kept whole (`bigout`, -j1)",
                lambda: r["value"] / f["value"], r, f)
    yield bound("1 GB output vs the relay floor (`bigout`, -j1)", lambda: a["value"] / r["value"], a, r)
    yield compare("bigout-imap", 2, "ppool imap", "parallel -k", 0.6, "2 × 1 GB output (`imap`) ≤ 0.6× `parallel -k`")
    yield compare("jmany", 500, "ppool", "floor", 1.2, "2,000 × `sleep 0.1` ≤ 1.2× floor")
    many = res.get("memory", 1000, "ppool -j1000 sleep")
    yield (
        f"-j1000 peak ≤ {JMANY_MB} MB",
        measured(lambda: f"{mb(many['value']):.1f} MB", many),
        verdict(lambda: mb(many["value"]) <= JMANY_MB, many),
    )

    yield compare("startup", 1, "ppool", "xargs", 1.0, "start-up ≤ xargs")
    # The streaming modes run `true 1`: beside xargs running the same.
    for mode in ("unordered", "imap", "map"):
        yield compare("startup", 1, f"ppool {mode}", "xargs true 1", 1.15,
                      f"`{mode}` start-up ≤ 1.15× `xargs true 1`")
    # The performance goal beyond the trust target.
    for mode in ("unordered", "imap", "map"):
        yield compare("startup", 1, f"ppool {mode}", "xargs true 1", 1.0,
                      f"`{mode}` start-up ≤ 1.0× `xargs true 1`")
    g, x, u = (res.get("startup", 1, t) for t in ("floor (guarded)", "xargs true 1", "ppool unordered"))
    u1 = res.get("startup", 1, "ppool unordered -j1")
    yield bound("`unordered -j1` start-up (an option: clap parses) vs `xargs true 1` (`startup`, -j1)",
                lambda: u1["value"] / x["value"], u1, x)
    # What the guard, the task's own group and its piped output cost a C
    # program: the rest of a streaming mode's start-up is ppool's own.
    yield bound("the guarded floor vs `xargs true 1` (`startup`, -j1)", lambda: g["value"] / x["value"], g, x)
    yield bound("`unordered` start-up vs the guarded floor (`startup`, -j1)", lambda: u["value"] / g["value"], u, g)
    yield compare("submit", 1, "ppool submit", "xargs", 1.3, "one submit ≤ 1.3x xargs' start-up")
    yield compare("submit", 1, "ppool submit", "sem", 0.05, "one submit ≥ 20x faster than sem")
    if res.jobs("ssh"):
        yield compare("ssh", 2, "ppool -S", "ppool -S, a connection per task", 0.2,
                      "shared ssh connection ≥ 5x faster than one per task")
        yield compare("ssh", 2, "ppool -S", "parallel -S", 1.0, "ssh tasks faster than GNU parallel -S")


def main():
    facts_path, results_path, max_jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    facts = read_tsv(facts_path)
    res = Results(read_tsv(results_path))

    lines = ["# ppool benchmark", ""]
    lines += [f"- **{k}**: {v}" for k, v in facts]
    lines += [""]
    lines += [
        "Median wall time of each command (hyperfine). *per task* is median wall time",
        "divided by the number of tasks (builtin-echo: records per second). Ratios divide",
        "a tool's median by xargs' or the spawn floor's in the same workload and job count.",
        "",
    ]
    lines += table(res)
    lines += ["", "## SPEC performance targets", "",
              "| target | measured | result |", "|---|---:|---|"]
    lines += [f"| {t} | {m} | {v} |" for t, m, v in targets(res, max_jobs)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()

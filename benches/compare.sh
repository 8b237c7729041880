#!/usr/bin/env bash
# Time ppool side by side with xargs -P, GNU parallel, rust-parallel, Python's
# multiprocessing.Pool and a posix_spawn floor, then print one Markdown report
# (machine facts, a results table, and PASS/FAIL for each SPEC performance
# target) on stdout. Progress and hyperfine's own output go to stderr.
#
# See benches/README.md for what each workload measures.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/compare.sh [options]

  -j, --jobs LIST     job counts to run every workload at, e.g. "1 2 4"
                      (default: "2 $(nproc)", duplicates removed)
  --quick             smaller sizes and fewer runs: a smoke test of the harness
  --only LIST         run only these workloads (comma or space separated):
                      true echo shell imap builtin-echo worker memory startup
                      batch pipe submit bigout jmany ssh
  --tools LIST        run only these tools (comma or space separated):
                      ppool xargs parallel rust-parallel floor python
  --runs N            hyperfine runs per measurement (default 5, quick 3)
  --rounds K          time each workload's tools in turn K times and take the
                      median of all K x N runs (default 1; use 3+ on a busy box)
  --no-build          do not run `cargo build --release`
  --timeout SECS      give up on one measurement after SECS (default 1800)
  -h, --help          this text

Environment: PPOOL=/path/to/ppool uses that binary instead of
target/release/ppool (and implies --no-build).
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

jobs_list=""
quick=0
only=""
tools=""
runs=""
rounds=1
build=1
limit=1800

while [ $# -gt 0 ]; do
    case "$1" in
        -j|--jobs) jobs_list="$jobs_list ${2:?$1 needs a value}"; shift 2 ;;
        -j*) jobs_list="$jobs_list ${1#-j}"; shift ;;
        --jobs=*) jobs_list="$jobs_list ${1#*=}"; shift ;;
        --quick) quick=1; shift ;;
        --only) only="$only ${2:?--only needs a value}"; shift 2 ;;
        --only=*) only="$only ${1#*=}"; shift ;;
        --tools) tools="$tools ${2:?--tools needs a value}"; shift 2 ;;
        --tools=*) tools="$tools ${1#*=}"; shift ;;
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
        --rounds=*) rounds=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        --timeout) limit=${2:?--timeout needs a value}; shift 2 ;;
        --timeout=*) limit=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: $*"; exit 1; }

# ---------------------------------------------------------------- requirements

command -v hyperfine >/dev/null ||
    die "hyperfine is required: apt-get install hyperfine (or: cargo install hyperfine)"
command -v python3 >/dev/null ||
    die "python3 is required (it reads hyperfine's JSON and writes the report)"
command -v cc >/dev/null ||
    die "a C compiler is required for the spawn floor: apt-get install gcc"
command -v timeout >/dev/null || die "timeout (coreutils) is required"

have() { command -v "$1" >/dev/null 2>&1; }
missing_hint() {
    case "$1" in
        xargs) echo "apt-get install findutils" ;;
        parallel) echo "apt-get install parallel" ;;
        rust-parallel) echo "cargo install rust-parallel" ;;
        time) echo "apt-get install time" ;;
    esac
}
for t in xargs parallel rust-parallel; do
    have "$t" || log "note: $t not found, its column is skipped (install: $(missing_hint "$t"))"
done
time_bin=/usr/bin/time
if ! "$time_bin" -v true >/dev/null 2>&1; then
    time_bin=""
    log "note: GNU time not found at /usr/bin/time, the memory workload is skipped (install: apt-get install time)"
fi

# ---------------------------------------------------------------- settings

if [ -z "$jobs_list" ]; then
    jobs_list="2 $(nproc)"
fi
# Split on commas and spaces, drop duplicates, keep the order given.
read -r -a jobs_arr <<<"$(tr ',' ' ' <<<"$jobs_list" | xargs -n1 | awk '!seen[$0]++' | xargs)"
for j in "${jobs_arr[@]}"; do
    [[ "$j" =~ ^[1-9][0-9]*$ ]] || die "bad job count: $j"
done
max_jobs=${jobs_arr[0]}
for j in "${jobs_arr[@]}"; do [ "$j" -gt "$max_jobs" ] && max_jobs=$j; done

if [ "$quick" = 1 ]; then
    tasks=1000          # tasks in true / echo / shell
    sleep_tasks=40      # tasks in imap
    stream=1000000      # records through builtin echo and in the memory workload
    startup_runs=30
    batch_paths=20000   # paths through `stat` in the batch workload
    submits=100         # `ppool submit true` / `sem true` calls in the submit workload
    pipe_lines=3000000  # lines of the pipe workload's input (about 21 MB)
    ssh_tasks=50        # `true` tasks to one loopback host in the ssh workload
    : "${runs:=3}"
else
    tasks=10000
    sleep_tasks=200
    stream=10000000
    startup_runs=200
    batch_paths=20000
    submits=1000
    pipe_lines=30000000 # lines of the pipe workload's input (about 256 MB)
    ssh_tasks=200
    : "${runs:=5}"
fi
big=1000000000          # bytes printed by the one big task (1 GB), quick too
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "bad --runs: $runs"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "bad --rounds: $rounds"

all_workloads="true echo shell imap builtin-echo worker memory startup batch pipe submit bigout jmany ssh"
wanted_workloads=$(tr ',' ' ' <<<"${only:-$all_workloads}")
for w in $wanted_workloads; do
    [[ " $all_workloads " == *" $w "* ]] || die "unknown workload: $w (one of: $all_workloads)"
done
wanted_tools=$(tr ',' ' ' <<<"$tools")

want_workload() { [[ " $wanted_workloads " == *" $1 "* ]]; }
# A tool row is named e.g. "ppool" or "ppool imap"; --tools names the family.
# Tools that are not installed are skipped here too.
want_tool() {
    local family=${1%% *}
    # `sem` is GNU parallel's.
    case "$family" in sem|sem+wait) family=parallel ;; esac
    case "$family" in
        xargs|parallel|rust-parallel) have "$family" || return 1 ;;
    esac
    [ -z "$wanted_tools" ] || [[ " $wanted_tools " == *" $family "* ]]
}

work=$(mktemp -d "${TMPDIR:-/tmp}/ppool-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
results="$work/results.tsv"
facts="$work/facts.tsv"
: >"$results"
: >"$facts"

q() { printf '%q' "$1"; }

# ---------------------------------------------------------------- build

ppool_ok=1
if [ -n "${PPOOL:-}" ]; then
    ppool_bin=$PPOOL
    build=0
else
    ppool_bin=$root/target/release/ppool
fi
if [ "$build" = 1 ]; then
    log "== cargo build --release"
    if ! (cd "$root" && cargo build --release >&2); then
        log "compare.sh: cargo build --release failed: every ppool row will read 'error'"
        ppool_ok=0
    fi
fi
if [ ! -x "$ppool_bin" ]; then
    log "compare.sh: no ppool binary at $ppool_bin: every ppool row will read 'error'"
    ppool_ok=0
fi

floor_bin=$work/floor
cc -O2 -o "$floor_bin" "$here/floor.c" || die "could not compile benches/floor.c"

PP=$(q "$ppool_bin")
FLOOR=$(q "$floor_bin")
POOL="python3 $(q "$here/pool_imap.py")"
ECHO_WORKER="python3 $(q "$here/echo_worker.py")"

# ---------------------------------------------------------------- inputs

seq "$tasks" >"$work/tasks.in"
# Skewed durations: every 8th task sleeps 80 ms, the others 10 ms, so a long
# task is always at the head of the line while short ones finish behind it.
awk -v n="$sleep_tasks" 'BEGIN { for (i = 1; i <= n; i++) print (i % 8 == 1) ? "0.08" : "0.01" }' \
    >"$work/sleep.in"
if want_workload builtin-echo || want_workload worker || want_workload memory; then
    seq "$stream" >"$work/stream.in"
fi
if want_workload batch; then
    # Real paths for `stat`: 20,000 files (fewer where the system has fewer).
    find /usr -type f 2>/dev/null | head -n "$batch_paths" >"$work/paths.in" || true
fi
if want_workload pipe; then
    seq "$pipe_lines" >"$work/pipe.in"
fi
if want_workload jmany; then
    # Many sleeping tasks at a high -j: 2,000 x `sleep 0.1` (200 in quick mode).
    awk -v n="$([ "$quick" = 1 ] && echo 200 || echo 2000)" 'BEGIN { for (i = 1; i <= n; i++) print "0.1" }' \
        >"$work/jmany.in"
fi
T_IN=$(q "$work/tasks.in")
P_IN=$(q "$work/paths.in")
S_IN=$(q "$work/sleep.in")
B_IN=$(q "$work/stream.in")
PIPE_IN=$(q "$work/pipe.in")

# ---------------------------------------------------------------- measuring

# Row fields: workload, jobs, tool, kind (time|mem), value (seconds | kB, or
# "error"), units (tasks or records the value covers).
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

# Run CHECK once (bounded by the timeout) and compare its trimmed stdout with
# EXPECT. Prints why on failure.
check() {
    local label=$1 cmd=$2 expect=$3 got
    if ! got=$(timeout -k 10 "$limit" bash -c "set -o pipefail; $cmd" 2>"$work/check.err"); then
        log "!! $label: check command failed: $cmd"
        sed -n '1,5s/^/   | /p' "$work/check.err" >&2
        return 1
    fi
    got=$(tr -d ' \n' <<<"$got")
    if [ "$got" != "$expect" ]; then
        log "!! $label: check printed '$got', expected '$expect': $cmd"
        sed -n '1,5s/^/   | /p' "$work/check.err" >&2
        return 1
    fi
}

# Median of every run in the given hyperfine JSON exports.
median_of() {
    python3 -c '
import json, statistics, sys
times = [t for f in sys.argv[1:] for t in json.load(open(f))["results"][0]["times"]]
print(statistics.median(times))' "$@"
}

# hyperfine options for the next bench calls.
hf_opts=(--runs "$runs")

# Commands of the current workload waiting to be timed by `flush`.
p_workload=(); p_jobs=(); p_tool=(); p_units=(); p_cmd=(); p_state=()

# bench WORKLOAD JOBS TOOL UNITS CHECK EXPECT CMD
# Checks CHECK's output now, and queues CMD to be timed by the next `flush`.
# A failure is recorded as "error" and the run goes on.
bench() {
    local workload=$1 jobs=$2 tool=$3 units=$4 chk=$5 expect=$6 cmd=$7 state=ok
    want_tool "$tool" || return 0
    local label="$workload -j$jobs $tool"
    log ""
    log "== check $label: ${chk:-(none)}"
    if [[ "$tool" == ppool* ]] && [ "$ppool_ok" = 0 ]; then
        state=error
    elif [ -n "$chk" ] && ! check "$label" "$chk" "$expect"; then
        state=error
    fi
    p_workload+=("$workload"); p_jobs+=("$jobs"); p_tool+=("$tool")
    p_units+=("$units"); p_cmd+=("$cmd"); p_state+=("$state")
}

# Time every queued command with hyperfine, in --rounds rounds that take the
# commands in turn (so slow drifts in machine load hit every tool alike), and
# record the median of all their runs.
flush() {
    local n=${#p_cmd[@]} i r label
    for ((r = 1; r <= rounds; r++)); do
        for ((i = 0; i < n; i++)); do
            [ "${p_state[i]}" = ok ] || continue
            label="${p_workload[i]} -j${p_jobs[i]} ${p_tool[i]}"
            log ""
            log "== time $label (round $r/$rounds): ${p_cmd[i]}"
            if ! timeout -k 10 "$limit" hyperfine --style basic --warmup 1 "${hf_opts[@]}" \
                --export-json "$work/hf.$i.$r.json" --command-name "$label" -- "${p_cmd[i]}" >&2; then
                log "!! $label: hyperfine failed"
                p_state[i]=error
            fi
        done
    done
    for ((i = 0; i < n; i++)); do
        local value=error
        if [ "${p_state[i]}" = ok ]; then
            value=$(median_of "$work"/hf."$i".*.json)
        fi
        row "${p_workload[i]}" "${p_jobs[i]}" "${p_tool[i]}" time "$value" "${p_units[i]}"
    done
    rm -f "$work"/hf.*.json
    p_workload=(); p_jobs=(); p_tool=(); p_units=(); p_cmd=(); p_state=()
}

# As `flush`, for start-ups: the queued commands run in turn, one run each
# a round (interleave.py), rounds x runs rounds, and each gets the median of
# its runs. Timed one block after another, as hyperfine times them, start-up
# costs on a shared virtual machine drift by more than what is measured
# (the same binary under two names read 1,877 and 1,736 us that way); run
# in turn they drift together. The rows stay hyperfine's for the commands
# that take a shell.
flush_interleaved() {
    local n=${#p_cmd[@]} i
    local -a idx=() cmds=()
    for ((i = 0; i < n; i++)); do
        [ "${p_state[i]}" = ok ] || continue
        idx+=("$i"); cmds+=("${p_cmd[i]}")
    done
    local -a medians=()
    if [ ${#cmds[@]} -gt 0 ]; then
        log ""
        log "== time ${p_workload[0]}: ${#cmds[@]} commands in turn, $((rounds * startup_runs)) rounds"
        if ! mapfile -t medians < <(timeout -k 10 "$limit" python3 "$here/interleave.py" --seconds \
            "$((rounds * startup_runs))" "${cmds[@]}"); then
            medians=()
        fi
        if [ ${#medians[@]} -ne ${#cmds[@]} ]; then
            log "!! ${p_workload[0]}: interleave.py failed"
            medians=()
        fi
    fi
    local k=0 value
    for ((i = 0; i < n; i++)); do
        value=error
        if [ "${p_state[i]}" = ok ]; then
            [ ${#medians[@]} -gt 0 ] && value=${medians[k]}
            k=$((k + 1))
        fi
        row "${p_workload[i]}" "${p_jobs[i]}" "${p_tool[i]}" time "$value" "${p_units[i]}"
    done
    p_workload=(); p_jobs=(); p_tool=(); p_units=(); p_cmd=(); p_state=()
}

# memory JOBS TOOL UNITS EXPECT CMD [ARG]... < stdin-file: peak RSS of CMD
# (GNU time's "Maximum resident set size": the largest single process among
# CMD and the children it reaped), its stdout counted by wc and checked.
memory() {
    local jobs=$1 tool=$2 units=$3 count=$4 expect=$5 input=$6
    shift 6
    want_tool "$tool" || return 0
    local label="memory -j$jobs $tool"
    log ""
    log "== $label: $* < $input | wc $count"
    if [[ "$tool" == ppool* ]] && [ "$ppool_ok" = 0 ]; then
        row memory "$jobs" "$tool" mem error "$units"
        return 0
    fi
    local got kb
    if got=$(timeout -k 10 "$limit" "$time_bin" -v -o "$work/time.txt" "$@" <"$input" 2>"$work/mem.err" | wc "$count") &&
        kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt") && [ -n "$kb" ] &&
        [ "$(tr -d ' ' <<<"$got")" = "$expect" ]; then
        log "   peak RSS ${kb} kB"
        row memory "$jobs" "$tool" mem "$kb" "$units"
    else
        log "!! $label: failed (wc $count printed '${got:-}', expected '$expect')"
        sed -n '1,5s/^/   | /p' "$work/mem.err" >&2
        row memory "$jobs" "$tool" mem error "$units"
    fi
}

# ---------------------------------------------------------------- workloads

PAR="parallel --will-cite"

for j in "${jobs_arr[@]}"; do
    # true: tiny direct-exec tasks; every tool appends the record, so each
    # task is `true N` (argv matters: coreutils true loads the locale when it
    # gets an argument). The check runs the same line with echo and counts.
    if want_workload true; then
        bench true "$j" "ppool" "$tasks" "$PP unordered -j$j echo < $T_IN | wc -l" "$tasks" \
            "$PP unordered -j$j true < $T_IN"
        bench true "$j" "ppool imap" "$tasks" "$PP imap -j$j echo < $T_IN | wc -l" "$tasks" \
            "$PP imap -j$j true < $T_IN"
        bench true "$j" xargs "$tasks" "xargs -P $j -n 1 echo < $T_IN | wc -l" "$tasks" \
            "xargs -P $j -n 1 true < $T_IN"
        bench true "$j" parallel "$tasks" "$PAR -j$j echo < $T_IN | wc -l" "$tasks" \
            "$PAR -j$j true < $T_IN"
        bench true "$j" rust-parallel "$tasks" "rust-parallel -j$j echo < $T_IN | wc -l" "$tasks" \
            "rust-parallel -j$j true < $T_IN"
        bench true "$j" floor "$tasks" "$FLOOR -i $j 0 echo < $T_IN | wc -l" "$tasks" \
            "$FLOOR -i $j 0 true < $T_IN"
        flush
    fi

    # batch: many records per command, `stat -c %s` over real paths. The
    # `batch` rows group 500 paths a command; the `batch-x` rows as many as
    # fit a command line (xargs' own default, ppool -X).
    if want_workload batch; then
        n=$(wc -l <"$work/paths.in")
        c="$PP unordered -j$j -n 500 stat -c %s < $P_IN"
        bench batch "$j" "ppool" "$n" "$c | wc -l" "$n" "$c"
        c="xargs -P $j -n 500 -d '\n' stat -c %s < $P_IN"
        bench batch "$j" xargs "$n" "$c | wc -l" "$n" "$c"
        c="$PAR -j$j -m -n 500 stat -c %s < $P_IN"
        bench batch "$j" "parallel -m" "$n" "$c | wc -l" "$n" "$c"
        flush
        c="$PP unordered -j$j -X stat -c %s < $P_IN"
        bench batch-x "$j" "ppool -X" "$n" "$c | wc -l" "$n" "$c"
        c="xargs -P $j -d '\n' stat -c %s < $P_IN"
        bench batch-x "$j" xargs "$n" "$c | wc -l" "$n" "$c"
        flush
    fi

    # echo: the same tasks printing their record; output collected and counted.
    if want_workload echo; then
        c="$PP unordered -j$j echo {} < $T_IN | wc -l"
        bench echo "$j" "ppool" "$tasks" "$c" "$tasks" "$c"
        c="$PP imap -j$j echo {} < $T_IN | wc -l"
        bench echo "$j" "ppool imap" "$tasks" "$c" "$tasks" "$c"
        c="xargs -P $j -n 1 echo < $T_IN | wc -l"
        bench echo "$j" xargs "$tasks" "$c" "$tasks" "$c"
        c="$PAR -j$j echo {} < $T_IN | wc -l"
        bench echo "$j" parallel "$tasks" "$c" "$tasks" "$c"
        c="rust-parallel -j$j echo < $T_IN | wc -l"
        bench echo "$j" rust-parallel "$tasks" "$c" "$tasks" "$c"
        c="$FLOOR -i $j 0 echo < $T_IN | wc -l"
        bench echo "$j" floor "$tasks" "$c" "$tasks" "$c"
        flush
    fi

    # shell: `echo RECORD` through /bin/sh -c, one shell per task.
    if want_workload shell; then
        c="PPOOL_SHELL=/bin/sh $PP unordered -j$j --shell echo {} < $T_IN | wc -l"
        bench shell "$j" "ppool" "$tasks" "$c" "$tasks" "$c"
        c="xargs -P $j -I{} sh -c 'echo {}' < $T_IN | wc -l"
        bench shell "$j" xargs "$tasks" "$c" "$tasks" "$c"
        c="PARALLEL_SHELL=/bin/sh $PAR -j$j echo {} < $T_IN | wc -l"
        bench shell "$j" parallel "$tasks" "$c" "$tasks" "$c"
        c="rust-parallel -j$j --shell --shell-path /bin/sh echo < $T_IN | wc -l"
        bench shell "$j" rust-parallel "$tasks" "$c" "$tasks" "$c"
        c="$FLOOR -s -i $j 0 echo < $T_IN | wc -l"
        bench shell "$j" floor "$tasks" "$c" "$tasks" "$c"
        flush
    fi

    # imap: skewed sleeps, each task printing its record after sleeping.
    # Ordered tools must print the input back unchanged (checked by cksum);
    # unordered ones must print every line (checked by count).
    if want_workload imap; then
        task="sh -c 'sleep \"\$1\"; echo \"\$1\"' sh"
        ordered=$(cksum <"$work/sleep.in" | tr -d ' \n')
        c="$PP imap -j$j -- $task < $S_IN"
        bench imap "$j" "ppool imap" "$sleep_tasks" "$c | cksum" "$ordered" "$c"
        c="$PP unordered -j$j -- $task < $S_IN"
        bench imap "$j" "ppool" "$sleep_tasks" "$c | wc -l" "$sleep_tasks" "$c"
        c="xargs -P $j -n 1 $task < $S_IN"
        bench imap "$j" xargs "$sleep_tasks" "$c | wc -l" "$sleep_tasks" "$c"
        c="$PAR -q -k -j$j $task < $S_IN"
        bench imap "$j" "parallel -k" "$sleep_tasks" "$c | cksum" "$ordered" "$c"
        c="rust-parallel -k -j$j $task < $S_IN"
        bench imap "$j" "rust-parallel -k" "$sleep_tasks" "$c | cksum" "$ordered" "$c"
        c="$FLOOR -i $j 0 $task < $S_IN"
        bench imap "$j" floor "$sleep_tasks" "$c | wc -l" "$sleep_tasks" "$c"
        flush
    fi

    # pipe: one big input cut into blocks of lines, `wc -l` on each, the
    # counts summed; `cat | wc -l` is one pipe's speed, split the floor.
    if want_workload pipe; then
        total="awk '{ s += \$1 } END { print s }'"
        c="$PP imap -j$j --pipe --block 10M wc -l < $PIPE_IN | $total"
        bench pipe "$j" "ppool imap --pipe" "$pipe_lines" "$c" "$pipe_lines" "$c"
        c="$PAR -j$j --pipe --block 10M wc -l < $PIPE_IN | $total"
        bench pipe "$j" "parallel --pipe" "$pipe_lines" "$c" "$pipe_lines" "$c"
        c="$PAR -j$j --pipepart -a $PIPE_IN --block 10M wc -l | $total"
        bench pipe "$j" "parallel --pipepart" "$pipe_lines" "$c" "$pipe_lines" "$c"
        c="split -n l/$j --filter='wc -l' $PIPE_IN | $total"
        bench pipe "$j" "split" "$pipe_lines" "$c" "$pipe_lines" "$c"
        c="cat $PIPE_IN | wc -l"
        bench pipe "$j" "cat-wc" "$pipe_lines" "$c" "$pipe_lines" "$c"
        flush
    fi

    # builtin-echo: records/s through persistent workers, stdin to stdout.
    if want_workload builtin-echo; then
        streamed=$(cksum <"$work/stream.in" | tr -d ' \n')
        c="$PP imap -j$j --builtin echo < $B_IN"
        bench builtin-echo "$j" "ppool imap" "$stream" "$c | cksum" "$streamed" "$c"
        c="$PP unordered -j$j --builtin echo < $B_IN"
        bench builtin-echo "$j" "ppool" "$stream" "$c | wc -l" "$stream" "$c"
        c="$POOL -j $j --chunksize 10000 < $B_IN"
        bench builtin-echo "$j" "python Pool.imap" "$stream" "$c | cksum" "$streamed" "$c"
        flush
    fi

    # worker: a Python echo loop as a --worker, sent the records in chunks
    # of 10,000 as Pool.imap sends its own, beside Pool.imap itself. Its
    # floor is the workers alone: j of them at once, each reading its share
    # of the records from a file and writing to /dev/null, with no runner
    # between them: what any runner using this worker takes at least.
    if want_workload worker; then
        streamed=$(cksum <"$work/stream.in" | tr -d ' \n')
        c="$PP imap -j$j --chunksize 10000 --worker $(q "$ECHO_WORKER") < $B_IN"
        bench worker "$j" "ppool imap --worker" "$stream" "$c | cksum" "$streamed" "$c"
        c="$POOL -j $j --chunksize 10000 < $B_IN"
        bench worker "$j" "python Pool.imap" "$stream" "$c | cksum" "$streamed" "$c"
        rm -f "$work"/share.*
        split -n "l/$j" -a 3 "$work/stream.in" "$work/share."
        alone="for f in $(q "$work")/share.*; do $ECHO_WORKER < \"\$f\" & done; wait"
        bench worker "$j" floor "$stream" "($alone) | wc -l" "$stream" "($alone) > /dev/null"
        flush
    fi
done

# bigout: one task printing 1 GB in `unordered`, its stdout piped to cat,
# beside GNU parallel and the floor: the same bytes through one pipe to cat.
# `floor (relay)` is the least a runner that keeps each task's output whole
# can do: the task's stdout a pipe of its own, moved on to cat by splice.
# bigout-imap: two such tasks in `imap` at -j2 (the second ends while the
# first still prints, so it waits), beside `parallel -k` and the floor: both
# tasks' bytes through one pipe to cat, one after the other.
if want_workload bigout; then
    c="$PP unordered -j1 -- head -c $big ::: /dev/zero | cat"
    bench bigout 1 "ppool" 1 "$c | wc -c" "$big" "$c > /dev/null"
    c="$PAR -j1 head -c $big ::: /dev/zero | cat"
    bench bigout 1 parallel 1 "$c | wc -c" "$big" "$c > /dev/null"
    c="head -c $big /dev/zero | cat"
    bench bigout 1 floor 1 "$c | wc -c" "$big" "$c > /dev/null"
    c="$FLOOR -r 1 1 head -c $big /dev/zero | cat"
    bench bigout 1 "floor (relay)" 1 "$c | wc -c" "$big" "$c > /dev/null"
    flush
    c="$PP imap -j2 -- head -c $big ::: /dev/zero /dev/zero | cat"
    bench bigout-imap 2 "ppool imap" 2 "$c | wc -c" "$((2 * big))" "$c > /dev/null"
    c="$PAR -k -j2 head -c $big ::: /dev/zero /dev/zero | cat"
    bench bigout-imap 2 "parallel -k" 2 "$c | wc -c" "$((2 * big))" "$c > /dev/null"
    c="(head -c $big /dev/zero; head -c $big /dev/zero) | cat"
    bench bigout-imap 2 floor 2 "$c | wc -c" "$((2 * big))" "$c > /dev/null"
    flush
fi

# jmany: many sleeping tasks at -j500 (the slots, not the work, cost);
# then ppool's peak RSS at -j1000 over the same tasks.
if want_workload jmany; then
    n=$(wc -l <"$work/jmany.in")
    J_IN=$(q "$work/jmany.in")
    bench jmany 500 "ppool" "$n" "$PP unordered -j500 echo < $J_IN | wc -l" "$n" \
        "$PP unordered -j500 sleep < $J_IN"
    bench jmany 500 xargs "$n" "xargs -P 500 -n 1 echo < $J_IN | wc -l" "$n" \
        "xargs -P 500 -n 1 sleep < $J_IN"
    bench jmany 500 parallel "$n" "$PAR -j500 echo < $J_IN | wc -l" "$n" \
        "$PAR -j500 sleep < $J_IN"
    bench jmany 500 rust-parallel "$n" "rust-parallel -j500 echo < $J_IN | wc -l" "$n" \
        "rust-parallel -j500 sleep < $J_IN"
    bench jmany 500 floor "$n" "$FLOOR -i 500 0 echo < $J_IN | wc -l" "$n" \
        "$FLOOR -i 500 0 sleep < $J_IN"
    flush
    if [ -n "$time_bin" ]; then
        memory 1000 "ppool -j1000 sleep" "$n" -l 0 "$work/jmany.in" \
            "$ppool_bin" unordered -j1000 sleep
    fi
fi

# memory: peak RSS at the largest job count.
if want_workload memory && [ -n "$time_bin" ]; then
    memory "$max_jobs" "ppool" "$stream" -l "$stream" "$work/stream.in" \
        "$ppool_bin" unordered -j"$max_jobs" --builtin echo
    memory "$max_jobs" "ppool imap" "$stream" -l "$stream" "$work/stream.in" \
        "$ppool_bin" imap -j"$max_jobs" --builtin echo
    if want_workload pipe; then
        # Peak RSS while 10 MB blocks stream through (the tasks print nothing).
        memory "$max_jobs" "ppool --pipe" "$pipe_lines" -l 0 "$work/pipe.in" \
            "$ppool_bin" imap -j"$max_jobs" --pipe --block 10M sh -c 'cat >/dev/null'
    fi
    # One task printing 1 GB: the record /dev/zero is appended as head's file.
    memory 1 "ppool 1GB task" 1 -c "$big" /dev/null \
        "$ppool_bin" unordered -j1 -- head -c "$big" ::: /dev/zero
fi

# startup: one `true` task, no shell in between, every command in turn
# (flush_interleaved). `apply` has no guard; the streaming modes fork one,
# so each is timed too. Their task is `true 1` (the record is its
# argument), which costs the task itself 0.2 ms more than `true`
# (coreutils loads the locale when given an argument): `xargs true 1` runs
# that same command. "ppool (copy)" is the same binary under another name:
# its ratio to `ppool` shows how far the timing itself can be trusted.
# "floor (guarded)" starts `true 1` as the streaming modes must, at least:
# a guard first, the task in a group of its own, its output through pipes.
if want_workload startup; then
    cp "$ppool_bin" "$work/ppool-copy"
    bench startup 1 "ppool" 1 "$PP apply echo ok" ok "$PP apply true"
    bench startup 1 "ppool (copy)" 1 "" "" "$(q "$work/ppool-copy") apply true"
    for mode in unordered imap map; do
        bench startup 1 "ppool $mode" 1 "$PP $mode echo ok ::: 1" ok1 "$PP $mode true ::: 1"
    done
    # With an option, which takes clap's parse (without, the defaults are
    # taken as they are).
    bench startup 1 "ppool unordered -j1" 1 "$PP unordered -j1 echo ok ::: 1" ok1 "$PP unordered -j1 true ::: 1"
    bench startup 1 xargs 1 "xargs echo ok </dev/null" ok "xargs true"
    bench startup 1 "xargs true 1" 1 "xargs echo ok 1 </dev/null" ok1 "xargs true 1"
    bench startup 1 parallel 1 "" "" "$PAR true ::: x"
    bench startup 1 rust-parallel 1 "" "" "rust-parallel true ::: x"
    bench startup 1 floor 1 "" "" "$FLOOR 1 1 true"
    bench startup 1 "floor (guarded)" 1 "$FLOOR -g 1 1 echo ok 1" ok1 "$FLOOR -g 1 1 true 1"
    flush_interleaved
fi

# submit: one `ppool submit true` into a running pool (hyperfine -N), beside
# xargs' start-up and GNU parallel's `sem`; then SUBMITS submits and a
# `wait`, beside as many `sem -j2` calls and `sem --wait`, and beside one
# `ppool unordered -j2 true` over as many records. The pools live in a
# socket directory of their own.
if want_workload submit; then
    export XDG_RUNTIME_DIR="$work/run"
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
    seq "$submits" >"$work/submits.in"
    # A running pool for the single submits, ended after they are timed.
    "$ppool_bin" submit --pool bench-one --idle 1h true >/dev/null || ppool_ok=0
    hf_opts=(-N --runs "$startup_runs")
    bench submit 1 "ppool submit" 1 "" "" "$PP submit --pool bench-one true"
    bench submit 1 xargs 1 "" "" "xargs true"
    hf_opts=(--runs "$startup_runs")
    bench submit 1 sem 1 "" "" "$PAR --semaphore --id ppool-bench-one -j2 true"
    flush
    "$ppool_bin" wait --pool bench-one >/dev/null 2>&1 || true
    $PAR --semaphore --id ppool-bench-one --wait >/dev/null 2>&1 || true
    hf_opts=(--runs "$runs")
    bench submit 2 "ppool submit+wait" "$submits" "" "" \
        "for i in \$(seq $submits); do $PP submit --pool bench-many -j2 true >/dev/null; done; $PP wait --pool bench-many"
    bench submit 2 "sem+wait" "$submits" "" "" \
        "for i in \$(seq $submits); do $PAR --semaphore --id ppool-bench-many -j2 true; done; $PAR --semaphore --id ppool-bench-many --wait"
    bench submit 2 "ppool unordered" "$submits" "" "" "$PP unordered -j2 true <$(q "$work/submits.in")"
    flush
fi

# ssh: SSH_TASKS `true` tasks to one host, an sshd of our own on loopback
# (keys made here, root or not), 2 slots: ppool sharing one connection, ppool
# with a connection per task, GNU parallel -S, and GNU parallel -S -M.
if want_workload ssh; then
    sshd_bin=$(command -v sshd || ls /usr/sbin/sshd /usr/local/sbin/sshd 2>/dev/null | head -n 1 || true)
    sd="$work/ssh"
    if [ -z "$sshd_bin" ] || ! have ssh || ! have ssh-keygen; then
        log "note: sshd, ssh or ssh-keygen not found, the ssh workload is skipped (install: apt-get install openssh-server openssh-client)"
    else
        mkdir -p "$sd" && chmod 700 "$sd"
        ssh-keygen -q -t ed25519 -N "" -f "$sd/host_key" && ssh-keygen -q -t ed25519 -N "" -f "$sd/user_key"
        cp "$sd/user_key.pub" "$sd/authorized_keys"
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        printf '%s\n' "Port $port" "ListenAddress 127.0.0.1" "HostKey $sd/host_key" \
            "AuthorizedKeysFile $sd/authorized_keys" "PermitRootLogin prohibit-password" "StrictModes no" \
            "UsePAM no" "PidFile none" "PasswordAuthentication no" "KbdInteractiveAuthentication no" \
            "MaxStartups 200" "MaxSessions 200" >"$sd/sshd_config"
        printf '%s\n' "Host bench" "  HostName 127.0.0.1" "  Port $port" "  IdentityFile $sd/user_key" \
            "  IdentitiesOnly yes" "  StrictHostKeyChecking no" "  UserKnownHostsFile /dev/null" \
            "  BatchMode yes" "  LogLevel ERROR" >"$sd/ssh_config"
        [ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || true
        "$sshd_bin" -D -e -f "$sd/sshd_config" 2>"$sd/sshd.log" &
        sshd_pid=$!
        trap 'kill "$sshd_pid" 2>/dev/null; rm -rf "$work"' EXIT
        up=0
        for _ in $(seq 50); do
            if ssh -F "$sd/ssh_config" bench true </dev/null 2>/dev/null; then up=1; break; fi
            sleep 0.2
        done
        if [ "$up" = 0 ]; then
            log "note: no sshd could be started on loopback, the ssh workload is skipped: $(tail -n 1 "$sd/sshd.log")"
        else
            seq "$ssh_tasks" >"$work/ssh.in"
            SSH_IN=$(q "$work/ssh.in")
            SSH="ssh -F $(q "$sd/ssh_config")"
            c="PPOOL_SSH='$SSH' $PP unordered -S 2/bench true < $SSH_IN"
            bench ssh 2 "ppool -S" "$ssh_tasks" "${c/ true / echo } | wc -l" "$ssh_tasks" "$c"
            c="PPOOL_SSH_CONTROLMASTER=no PPOOL_SSH='$SSH' $PP unordered -S 2/bench true < $SSH_IN"
            bench ssh 2 "ppool -S, a connection per task" "$ssh_tasks" "${c/ true / echo } | wc -l" "$ssh_tasks" "$c"
            c="$PAR --ssh '$SSH' -S 2/bench true < $SSH_IN"
            bench ssh 2 "parallel -S" "$ssh_tasks" "${c/ true / echo } | wc -l" "$ssh_tasks" "$c"
            c="$PAR --ssh '$SSH' -M -S 2/bench true < $SSH_IN"
            bench ssh 2 "parallel -S -M" "$ssh_tasks" "${c/ true / echo } | wc -l" "$ssh_tasks" "$c"
            flush
        fi
        kill "$sshd_pid" 2>/dev/null || true
        wait "$sshd_pid" 2>/dev/null || true
    fi
fi

# ---------------------------------------------------------------- report

first_line() { "$@" 2>&1 | head -n 1 || true; }
fact() { printf '%s\t%s\n' "$1" "$2" >>"$facts"; }

fact "date" "$(date -u '+%Y-%m-%d %H:%M UTC')"
fact "mode" "$([ "$quick" = 1 ] && echo quick || echo full): $tasks tasks, $sleep_tasks sleep tasks, $stream streamed records, $rounds x $runs runs (+1 warmup each)"
fact "nproc" "$(nproc)"
fact "cpu" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
fact "kernel" "$(uname -sr)"
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ] && rev="$rev (dirty)"
fact "ppool" "$rev ($ppool_bin)"
have xargs && fact "xargs" "$(first_line xargs --version)"
have parallel && fact "parallel" "$(first_line parallel --version)"
have rust-parallel && fact "rust-parallel" "$(first_line rust-parallel --version)"
fact "hyperfine" "$(first_line hyperfine --version)"
fact "python3" "$(first_line python3 --version)"
fact "cc" "$(first_line cc --version)"

python3 "$here/report.py" "$facts" "$results" "$max_jobs"

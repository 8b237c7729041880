#!/bin/sh
# Regenerates link/startup.order: the functions a short run executes, which
# the linker places side by side at the start of the program's code
# (build.rs passes the file to LLD). A one-task run touches code spread
# over 2.4 MB of the 3.2 MB of text; the kernel maps it 64 KiB around each
# fault and unmaps it all at exit. Placed together, the same run maps 1.3 MB.
#
# Run it after a change that renames or adds start-up functions, or after a
# version bump (the symbol names carry a hash of the crate's version): a
# stale file is not an error, only less of the start-up code is together.
#
# Needs valgrind. The runs are profiled with callgrind under a file size
# limit below the guard's table, so the guard is forked (callgrind cannot
# follow a process that shares its parent's memory); the functions of the
# guard and of the spawned child that then run in no profiled process are
# added by name.
set -eu
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "startup-order: valgrind is needed: apt-get install valgrind" >&2; exit 1; }
cargo build --release --quiet
bin=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/ppool
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
i=0
while read -r args; do
    i=$((i + 1))
    # shellcheck disable=SC2086 # the words of each line are the arguments
    (ulimit -f 10000 && valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.$i" \
        "$bin" $args >/dev/null 2>&1 </dev/null) || true
done <<'EOF'
unordered true ::: 1
imap echo ::: 1
map echo ::: 1
apply true
unordered -j1 true ::: 1
unordered -j2 echo ::: a b c
imap -j2 --tag --shell echo {} ::: x
apply --timeout 1m true
EOF
{
    for f in "$work"/cg.*; do
        callgrind_annotate --threshold=100 "$f" 2>/dev/null |
            sed -n "s|^ *[0-9,]* *([^)]*) *???:\(.*\) \[$bin\]\$|\1|p"
    done
    nm --defined-only "$bin" | awk '$2 ~ /^[tT]$/ { print $3 }' |
        grep -E 'guard\.\.shared|guard6shared|spawn\.\.shared|spawn6shared|3raw7syscall'
} | awk '!seen[$0]++' >link/startup.order
echo "link/startup.order: $(wc -l <link/startup.order) functions"

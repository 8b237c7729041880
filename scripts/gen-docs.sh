#!/bin/sh
# Regenerates the checked-in man page and completion scripts from the clap
# definition. tests/docs.rs fails until they are regenerated after a CLI change.
set -eu
cd "$(dirname "$0")/.."
cargo build --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/ppool"
"$bin" man > man/ppool.1
"$bin" completions bash > completions/ppool.bash
"$bin" completions zsh > completions/_ppool
"$bin" completions fish > completions/ppool.fish

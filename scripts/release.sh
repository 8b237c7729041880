#!/bin/sh
# Builds the static x86_64 Linux binary and writes the release tarball
# (binary, man page, completions, README, LICENSE) and its sha256 to
# target/dist/. Prints the tarball's path.
set -eu
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
name="ppool-$version-$target"
out="${CARGO_TARGET_DIR:-target}"
dist="$out/dist"

cargo build --quiet --release --locked --target "$target"
rm -rf "${dist:?}/$name"
mkdir -p "$dist/$name/completions"
cp "$out/$target/release/ppool" "$dist/$name/ppool"
strip "$dist/$name/ppool"
cp man/ppool.1 README.md LICENSE "$dist/$name/"
cp completions/ppool.bash completions/_ppool completions/ppool.fish "$dist/$name/completions/"

# Reproducible entries: one owner and one time for every file.
mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
tar -C "$dist" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
    -czf "$dist/$name.tar.gz" "$name"
(cd "$dist" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$dist/$name.tar.gz"

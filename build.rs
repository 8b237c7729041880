//! Names the target for `ppool --version` (`PPOOL_TARGET`, a constant in
//! the binary, so start-up does no work for it).
//!
//! Links the unwinder (libgcc_eh) statically, so that `ppool` does not load
//! libgcc_s.so at start-up: one shared library less to map and relocate,
//! about 0.1 ms of every run. Panics still unwind. Where the C compiler does
//! not know libgcc_eh.a, nothing changes.
//!
//! Links `ppool` at a fixed address (`-no-pie`): a position-independent
//! binary of this size carries some 9,000 relocations that the loader
//! applies at every start, writing to pages that are then copied, and that
//! was 0.16 ms of a one-task run (6%). The C library, the heap and the
//! stack keep their random addresses; only the program's own code does
//! not. Both for Linux with glibc when building for this machine.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=PPOOL_TARGET={target}");
    let host = std::env::var("HOST").unwrap_or_default();
    if !target.contains("linux-gnu") || target != host {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc).arg("-print-file-name=libgcc_eh.a").output() else {
        return;
    };
    let printed = String::from_utf8_lossy(&out.stdout);
    let path = Path::new(printed.trim());
    // Unknown files are printed back as given, without a directory.
    if !out.status.success() || !path.is_absolute() || !path.exists() {
        return;
    }
    if let Some(dir) = path.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static=gcc_eh");
    }
}

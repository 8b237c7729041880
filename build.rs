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
//!
//! Places the functions a short run executes side by side at the start of
//! the program's code (`link/startup.order`, made by
//! `scripts/startup-order.sh`), where the linker is LLD: x86-64 Linux with
//! glibc, a Rust of 1.90 or later that ships its LLD and uses it by
//! default, and no linker chosen by the user. A one-task run maps 1.3 MB
//! of ppool's code instead of 2.4 MB, with 22 page faults fewer (166 to
//! 144), and starts 6% sooner (`unordered`; `apply` 11%). Names missing
//! from the file (a stale file) are left where they were, without a word.

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
    order_startup(&target);
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

/// Hands LLD `link/startup.order` (see above) when it is the linker.
fn order_startup(target: &str) {
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/startup.order");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if target != "x86_64-unknown-linux-gnu" || !order.exists() || !rustc_links_with_its_lld(target) {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Whether rustc links with the LLD it ships, as it does by default on
/// x86-64 Linux from 1.90: any other linker would refuse LLD's options.
fn rustc_links_with_its_lld(target: &str) -> bool {
    // A linker chosen by the user (`-C linker`, `linker-features`, a
    // linker in Cargo's configuration) is left alone.
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if std::env::var_os("RUSTC_LINKER").is_some() || flags.contains("link") {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let Ok(version) = Command::new(&rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (…)"
    let version = String::from_utf8_lossy(&version.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    if !minor.is_some_and(|m| m >= 90) {
        return false;
    }
    // Distributions may build rustc without its LLD (and so without the
    // default): it must be there.
    let Ok(sysroot) = Command::new(&rustc).arg("--print").arg("sysroot").output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&sysroot.stdout);
    Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(target)
        .join("bin/gcc-ld/ld.lld")
        .exists()
}

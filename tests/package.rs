//! What the packages ship: the version line names the build's target, the
//! license file matches the manifest, and every file the .deb installs is in
//! the repository and in the published crate.

use std::path::Path;

fn manifest_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

#[test]
fn long_version_names_the_target_and_short_version_does_not() {
    let out = crate::util::ppool().arg("--version").assert().success();
    let line = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let prefix = format!("ppool {} (", env!("CARGO_PKG_VERSION"));
    let target = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("not `{prefix}TARGET)`: {line:?}"));
    assert!(
        target.split('-').count() >= 3 && !target.contains(char::is_whitespace),
        "not a target triple: {target:?}"
    );
    // The suite may run against a binary built for another target (musl).
    if std::env::var_os("PPOOL_BIN").is_none() {
        assert_eq!(target, env!("PPOOL_TARGET"));
    }
    let out = crate::util::ppool().arg("-V").assert().success();
    let short = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(short, format!("ppool {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn license_file_is_the_mit_license_the_manifest_names() {
    assert!(manifest_file("Cargo.toml").contains("\nlicense = \"MIT\"\n"));
    let license = manifest_file("LICENSE");
    assert!(license.starts_with("MIT License\n"), "{license}");
    assert!(license.contains("Copyright (c) 2026 the ppool authors"), "{license}");
}

/// `["source", "destination", "mode"]` rows of `[package.metadata.deb]`.
fn deb_assets(manifest: &str) -> Vec<(String, String)> {
    let section = manifest
        .split_once("\n[package.metadata.deb]\n")
        .map(|(_, rest)| rest.split("\n[").next().unwrap_or(rest))
        .expect("Cargo.toml has no [package.metadata.deb]");
    section
        .lines()
        .filter_map(|line| line.trim().strip_prefix("[\""))
        .map(|row| {
            let cells: Vec<&str> = row.split('"').collect();
            (cells[0].to_string(), cells.get(2).unwrap_or(&"").to_string())
        })
        .collect()
}

#[test]
fn deb_installs_binary_man_page_and_completions_from_checked_in_files() {
    let assets = deb_assets(&manifest_file("Cargo.toml"));
    for destination in [
        "usr/bin/",
        "usr/share/man/man1/ppool.1",
        "usr/share/bash-completion/completions/ppool",
        "usr/share/zsh/vendor-completions/_ppool",
        "usr/share/fish/vendor_completions.d/ppool.fish",
    ] {
        assert!(
            assets.iter().any(|(_, to)| to == destination),
            "the .deb installs nothing at {destination}: {assets:?}"
        );
    }
    let manifest = manifest_file("Cargo.toml");
    for (source, _) in assets.iter().filter(|(from, _)| !from.starts_with("target/")) {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(source).is_file(),
            "{source} is not in the repository"
        );
        let top = source.split('/').next().unwrap();
        assert!(
            manifest.contains(&format!("\"/{source}\"")) || manifest.contains(&format!("\"/{top}/\"")),
            "{source} is not in the crate's `include`"
        );
    }
}

//! `--pipepart --block -N`: the file cut into N blocks per job slot, as
//! GNU parallel cuts it.

use std::process::Command;

use crate::util::{ppool, stderr_of, stdout_of};

/// stdout of a successful ppool run.
fn out(args: &[&str]) -> String {
    let output = ppool().args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr_of(&output));
    stdout_of(&output)
}

/// The numbers the tasks printed, one a line.
fn counts(stdout: &str) -> Vec<u64> {
    stdout.split_whitespace().map(|n| n.parse().expect("a count")).collect()
}

#[test]
fn negative_block_cuts_n_blocks_per_slot_as_gnu_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in");
    let input: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
    std::fs::write(&file, &input).unwrap();
    let path = file.to_str().unwrap();
    for (jobs, per_slot) in [("2", "-1"), ("2", "-3"), ("3", "-2")] {
        let jobs_n: usize = jobs.parse().unwrap();
        let n: usize = per_slot[1..].parse().unwrap();
        let args = ["-j", jobs, "--pipepart", "--block", per_slot, "-a", path];
        let mut bytes = vec!["imap"];
        bytes.extend(args);
        bytes.extend(["wc", "-c"]);
        let sizes = counts(&out(&bytes));
        assert_eq!(sizes.len(), jobs_n * n, "{args:?}: {sizes:?}");
        assert_eq!(sizes.iter().sum::<u64>(), input.len() as u64);
        // About equal: no block more than a line longer than an equal share.
        let share = input.len() as u64 / sizes.len() as u64;
        assert!(sizes.iter().all(|&s| s <= share + 8), "{sizes:?}");
        let mut lines = vec!["imap"];
        lines.extend(args);
        lines.extend(["wc", "-l"]);
        let ours = out(&lines);
        assert_eq!(counts(&ours).iter().sum::<u64>(), 100_000);
        let gnu = Command::new("parallel")
            .args([
                "--will-cite",
                "-k",
                "-j",
                jobs,
                "--pipepart",
                "--block",
                per_slot,
                "-a",
                path,
            ])
            .args(["wc", "-l"])
            .output();
        match gnu {
            Ok(gnu) => {
                assert!(gnu.status.success(), "parallel: {}", stderr_of(&gnu));
                assert_eq!(ours, stdout_of(&gnu), "{args:?}");
            }
            Err(_) => println!("SKIP: GNU parallel is not installed"),
        }
    }
}

#[test]
fn negative_block_needs_pipepart() {
    let output = ppool()
        .args(["map", "--pipe", "--block", "-2", "wc", "-l"])
        .write_stdin("1\n2\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("--pipepart"), "{}", stderr_of(&output));
    let output = ppool()
        .args(["map", "--pipe", "--block", "-x", "wc", "-l"])
        .write_stdin("1\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(255));
    assert!(stderr_of(&output).contains("--block -x"), "{}", stderr_of(&output));
}

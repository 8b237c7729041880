//! GNU parallel's own tutorial and examples, `parallel_tutorial(7)` and
//! `parallel_examples(7)`, run command by command both ways: with GNU
//! parallel, and with `parallel` standing for `ppool imap` where `-k` is
//! given, else `ppool unordered`. Each command runs in a fresh sandbox that
//! holds the tutorial's input files; stdout (sorted where the order is not
//! kept), success and the files the command leaves behind are compared.
//! A command that differs as typed runs again with `--shell`, which GNU
//! parallel always implies and ppool asks to be spelled; one that still
//! differs runs again both ways, up to [`ROUNDS`] times in all, and is the
//! same when ppool's result is one of GNU parallel's (which task ends
//! first varies in both). Times of day in stdout are masked. Every command is
//! reported SAME (as typed or with -s), DIFFERENT, unsupported or not
//! runnable here, with counts, on stdout and in
//! target/tmp/gnu_compat-report.txt; the test fails when one listed in
//! tests/gnu_compat/same.txt is not SAME. It skips where GNU parallel or
//! its manuals are not installed.
//!
//! `PPOOL_COMPAT_ONLY=TEXT` runs only the commands containing TEXT;
//! `PPOOL_COMPAT_WRITE=1` rewrites same.txt from this run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::util::bin;

/// Each command's limit, both ways; a command GNU parallel cannot finish
/// within it is not runnable here.
const TIMEOUT_S: &str = "10";
/// Runs each way, at most, of a command whose results differ: the first,
/// then again while they still do (see [`judge`]).
const ROUNDS: usize = 3;
/// Commands run at once: the machine has 2 cores, and many commands sleep.
const RUNNERS: usize = 4;

const SAME_LIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gnu_compat/same.txt");
/// Marks a line of same.txt whose command needs `--shell`.
const SHELL_MARK: &str = "[-s] ";
const INPUTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gnu_compat/inputs.sh");

/// `parallel` for the ppool runs: `imap` keeps the order `-k` asks for;
/// `$PPOOL_COMPAT_SHELL` adds `--shell`, which GNU parallel always implies.
const WRAPPER: &str = r#"#!/usr/bin/env bash
mode=unordered
for arg; do
    case $arg in -k*|--keep-order|--keeporder) mode=imap ;; esac
done
exec "$PPOOL" $mode ${PPOOL_COMPAT_SHELL:+--shell} "$@"
"#;

/// Needs what this machine lacks: other hosts, the network, a terminal, Slurm.
const NOT_RUNNABLE: &[(&str, &str)] = &[
    (" -S", "remote hosts"),
    ("--sshlogin", "remote hosts"),
    ("--slf", "remote hosts"),
    ("$SERVER", "remote hosts"),
    ("ssh ", "remote hosts"),
    ("--onall", "remote hosts"),
    ("--nonall", "remote hosts"),
    ("--trc", "remote hosts"),
    ("--transfer", "remote hosts"),
    ("--basefile", "remote hosts"),
    ("--filter-hosts", "remote hosts"),
    ("wget ", "network"),
    ("curl ", "network"),
    ("lynx ", "network"),
    ("http://", "network"),
    ("https://", "network"),
    ("--tty", "a terminal"),
    ("--tmux", "a terminal"),
    ("--interactive", "a terminal"),
    ("--fg", "a terminal"),
    ("emacs", "a terminal"),
    (" vi ", "a terminal"),
    ("zenity", "a terminal"),
    ("srun ", "Slurm"),
    ("sbatch", "Slurm"),
    // What GNU parallel says of itself cannot be ppool's.
    ("parallel --help", "GNU parallel's own help"),
    ("parallel --version", "GNU parallel's own version"),
];

/// Ends the reason of a feature left out on purpose: such commands do not
/// count as runnable.
const LEFT_OUT: &str = ", left out on purpose";

/// GNU parallel features ppool leaves out on purpose (README, "GNU
/// parallel → ppool").
const UNSUPPORTED: &[(&str, &str)] = &[
    ("{=", "perl expressions"),
    ("--rpl", "perl expressions"),
    ("--parens", "perl expressions"),
    ("env_parallel", "env_parallel"),
    ("parset", "parset"),
    ("sem ", "sem"),
    ("--semaphore", "sem"),
    ("sql ", "sql"),
    ("--sqlmaster", "sql"),
    ("--sqlworker", "sql"),
    ("--sqlandworker", "sql"),
    ("parcat", "parcat"),
    ("parsort", "parsort"),
    ("niceload", "niceload"),
    ("--shebang", "--shebang"),
    ("--embed", "--embed"),
];

#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Same,
    /// The same once `--shell` is given, the spelling ppool asks for on purpose.
    SameWithShell,
    Different(String),
    Unsupported(String),
    NotRunnable(String),
}

impl Verdict {
    fn label(&self) -> &'static str {
        match self {
            Verdict::Same => "SAME",
            Verdict::SameWithShell => "SAME with -s",
            Verdict::Different(_) => "DIFFERENT",
            Verdict::Unsupported(_) => "unsupported",
            Verdict::NotRunnable(_) => "not runnable",
        }
    }

    fn detail(&self) -> &str {
        match self {
            Verdict::Same | Verdict::SameWithShell => "",
            Verdict::Different(why) | Verdict::Unsupported(why) | Verdict::NotRunnable(why) => why,
        }
    }
}

/// One command of the manuals, with the lines before it in its example
/// (variables, functions) that it needs.
#[derive(Debug, Clone)]
struct Example {
    /// The command on one line: its name in same.txt and in the report.
    key: String,
    prelude: String,
    command: String,
}

impl Example {
    fn keeps_order(&self) -> bool {
        self.command
            .split_whitespace()
            .any(|w| w.starts_with("-k") || w == "--keep-order" || w == "--keeporder")
    }
}

/// A manual page's roff source, or `None` when it is not installed.
fn man_source(name: &str) -> Option<String> {
    let mut paths = vec![
        PathBuf::from(format!("/usr/share/man/man7/{name}.7.gz")),
        PathBuf::from(format!("/usr/share/man/man7/{name}.7")),
    ];
    if let Ok(out) = Command::new("man")
        .args(["-w", "7", name])
        .stderr(Stdio::null())
        .output()
    {
        let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !found.is_empty() {
            paths.insert(0, PathBuf::from(found));
        }
    }
    let path = paths.into_iter().find(|p| p.is_file())?;
    if path.extension().is_some_and(|e| e == "gz") {
        let out = Command::new("gzip").arg("-dc").arg(&path).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        std::fs::read_to_string(path).ok()
    }
}

/// The text of a verbatim line of Pod::Man's roff, its escapes undone.
fn unroff(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (text, used) = match after.chars().next() {
            Some('e') | Some('\\') => ("\\", 1),
            Some('-') => ("-", 1),
            Some('&') | Some('|') | Some('^') => ("", 1),
            Some('`') => ("`", 1),
            Some('\'') => ("'", 1),
            Some('0') => (" ", 1),
            Some('*') if after[1..].starts_with("(Aq") => ("'", 4),
            Some('*') if after[1..].starts_with("(L\"") || after[1..].starts_with("(R\"") => ("\"", 4),
            Some('*') if after[1..].starts_with("(C`") || after[1..].starts_with("(C'") => ("", 4),
            Some('(') if after[1..].starts_with("aq") => ("'", 3),
            Some('(') if after[1..].starts_with("dq") => ("\"", 3),
            Some('f') => ("", 2),
            _ => ("\\", 0),
        };
        out.push_str(text);
        rest = after.get(used..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The verbatim blocks (`.Vb` … `.Ve`) of a roff source, line by line.
fn verbatim_blocks(roff: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut block: Option<Vec<String>> = None;
    for line in roff.lines() {
        if line.starts_with(".Vb") {
            block = Some(Vec::new());
        } else if line.starts_with(".Ve") {
            blocks.extend(block.take());
        } else if let Some(block) = &mut block {
            block.push(unroff(line));
        }
    }
    blocks
}

/// Whether LINE runs GNU parallel itself (not `parallel_tutorial`,
/// `env_parallel`, or a `parallel:` message in shown output).
fn runs_parallel(line: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with("man ") {
        return false;
    }
    let bytes = line.as_bytes();
    line.match_indices("parallel").any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + "parallel".len()).copied();
        matches!(
            before,
            None | Some(b' ' | b'\t' | b'\n' | b'|' | b';' | b'&' | b'(' | b'`' | b'$')
        ) && matches!(after, None | Some(b' ' | b'\t' | b'\n'))
    })
}

/// The commands of a block: a line at the block's indentation starts one,
/// deeper lines continue it, a blank line ends it.
fn examples_of(block: &[String]) -> Vec<Example> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = block
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    let mut logical: Vec<String> = Vec::new();
    let mut open = false;
    for line in block {
        if line.trim().is_empty() {
            open = false;
            continue;
        }
        let text = line.get(base..).unwrap_or(line.trim_start());
        if open && indent(line) > base {
            let last = logical.last_mut().expect("an open command");
            last.push('\n');
            last.push_str(text);
        } else {
            logical.push(text.to_string());
            open = true;
        }
    }
    let mut examples = Vec::new();
    let mut prelude = String::new();
    for line in logical {
        if runs_parallel(&line) {
            let key = line.split('\n').map(str::trim).collect::<Vec<_>>().join(" ");
            examples.push(Example {
                key,
                prelude: prelude.clone(),
                command: line,
            });
        } else {
            prelude.push_str(&line);
            prelude.push('\n');
        }
    }
    examples
}

/// Every command of the two manuals, each key once; `None` when a manual
/// is missing.
fn all_examples() -> Option<Vec<Example>> {
    let mut examples = Vec::new();
    for page in ["parallel_tutorial", "parallel_examples"] {
        let roff = man_source(page)?;
        for block in verbatim_blocks(&roff) {
            examples.extend(examples_of(&block));
        }
    }
    let mut seen = BTreeSet::new();
    examples.retain(|e| seen.insert(e.key.clone()));
    Some(examples)
}

/// What a run left: stdout, success, and the new or changed files.
#[derive(Debug, PartialEq)]
struct Result {
    stdout: String,
    success: bool,
    files: BTreeMap<String, String>,
    timed_out: bool,
    code: Option<i32>,
    stderr: String,
}

/// Digits in files are timestamps and durations (job logs) or sizes.
fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// The temporary file names of `--files` are random on both sides.
fn mask_temp_names(text: &str) -> String {
    let names = regex::Regex::new(r"par[A-Za-z0-9_]{5,}\.par").expect("a valid regex");
    names.replace_all(text, "parXXXXX.par").into_owned()
}

/// Times of day (`23:35:38`), which `date` in a command prints: the two
/// runs of a command happen seconds apart.
fn mask_clock(text: &str) -> String {
    let times = regex::Regex::new(r"\b\d\d:\d\d:\d\d\b").expect("a valid regex");
    times.replace_all(text, "HH:MM:SS").into_owned()
}

fn sorted_lines(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

fn files_under(dir: &Path, prefix: &str, into: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            into.insert(format!("{name}/"), Vec::new());
            files_under(&path, &format!("{name}/"), into);
        } else {
            into.insert(name, std::fs::read(&path).unwrap_or_default());
        }
    }
}

struct Sandbox {
    root: PathBuf,
    inputs: PathBuf,
    wrapper_dir: PathBuf,
    pristine: BTreeMap<String, Vec<u8>>,
}

impl Sandbox {
    fn new(root: &Path) -> Sandbox {
        let inputs = root.join("inputs");
        std::fs::create_dir_all(&inputs).unwrap();
        let made = Command::new("sh")
            .arg(INPUTS)
            .current_dir(&inputs)
            .status()
            .expect("running tests/gnu_compat/inputs.sh");
        assert!(made.success(), "tests/gnu_compat/inputs.sh failed");
        let wrapper_dir = root.join("wrapper");
        std::fs::create_dir_all(&wrapper_dir).unwrap();
        let wrapper = wrapper_dir.join("parallel");
        std::fs::write(&wrapper, WRAPPER).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut pristine = BTreeMap::new();
        files_under(&inputs, "", &mut pristine);
        Sandbox {
            root: root.to_path_buf(),
            inputs,
            wrapper_dir,
            pristine,
        }
    }

    /// Runs one example in a fresh directory named after its number, the
    /// same for both sides, so paths in the output agree.
    fn run(&self, number: usize, example: &Example, side: Side) -> Result {
        let dir = self.root.join(format!("run{number}"));
        let _ = std::fs::remove_dir_all(&dir);
        let work = dir.join("work");
        let home = dir.join("home");
        let tmp = dir.join("tmp");
        for d in [&work, &home.join(".parallel"), &tmp] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(home.join(".parallel/will-cite"), "").unwrap();
        for name in self.pristine.keys() {
            let from = self.inputs.join(name);
            let to = work.join(name);
            // The large inputs are only read: linked, not copied.
            if std::fs::metadata(&from).is_ok_and(|m| m.len() > 100_000) {
                std::fs::hard_link(&from, &to).unwrap();
            } else {
                std::fs::copy(&from, &to).unwrap();
            }
        }
        let tmp_text = format!("{}/", tmp.display());
        let localize = |s: &str| {
            s.replace("/tmp/", &tmp_text)
                .replace("/var/tmp", &tmp.display().to_string())
        };
        let script = format!(
            "{{\n{}\n}} >/dev/null 2>&1 </dev/null\n{}\n",
            if example.prelude.trim().is_empty() {
                ":".to_string()
            } else {
                localize(&example.prelude)
            },
            localize(&example.command)
        );
        let path = std::env::var("PATH").unwrap_or_default();
        let path = if side != Side::Gnu {
            format!("{}:{path}", self.wrapper_dir.display())
        } else {
            path
        };
        let stdout_file = dir.join("stdout");
        let stderr_file = dir.join("stderr");
        let status = Command::new("timeout")
            .args(["-k", "2", TIMEOUT_S, "bash", "-c", &script])
            .current_dir(&work)
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .env("PATH", path)
            .env("PPOOL", bin())
            .envs(
                (side == Side::PpoolShell)
                    .then_some([("PPOOL_COMPAT_SHELL", "1"), ("PPOOL_SHELL", "bash")])
                    .into_iter()
                    .flatten(),
            )
            .env_remove("PARALLEL")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_file).unwrap())
            .stderr(std::fs::File::create(&stderr_file).unwrap())
            .status()
            .expect("running timeout and bash");
        let stdout = String::from_utf8_lossy(&std::fs::read(&stdout_file).unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&std::fs::read(&stderr_file).unwrap_or_default()).into_owned();
        let mut after = BTreeMap::new();
        files_under(&work, "", &mut after);
        for (name, bytes) in &self.pristine {
            let big = bytes.len() > 100_000;
            let shared = self.inputs.join(name);
            if big {
                let now = std::fs::read(&shared).unwrap_or_default();
                assert!(&now == bytes, "{:?} changed the shared input {name}", example.key);
            }
        }
        let keep = example.keeps_order();
        let files = after
            .into_iter()
            .filter(|(name, bytes)| self.pristine.get(name) != Some(bytes))
            .map(|(name, bytes)| {
                let text = mask_digits(&String::from_utf8_lossy(&bytes));
                (name, if keep { text } else { sorted_lines(&text) })
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = mask_clock(&mask_temp_names(&stdout));
        Result {
            stdout: if keep { stdout } else { sorted_lines(&stdout) },
            success: status.success(),
            timed_out: matches!(status.code(), Some(124) | Some(137)) || status.code().is_none(),
            files,
            code: status.code(),
            stderr,
        }
    }
}

/// The first line that differs, for the report.
fn first_difference(gnu: &str, ours: &str) -> String {
    let (g, o): (Vec<&str>, Vec<&str>) = (gnu.lines().collect(), ours.lines().collect());
    for i in 0..g.len().max(o.len()) {
        let (a, b) = (g.get(i).copied(), o.get(i).copied());
        if a != b {
            return format!(
                "line {}: GNU {:?}, ppool {:?}",
                i + 1,
                a.unwrap_or("<none>"),
                b.unwrap_or("<none>")
            );
        }
    }
    "same lines".to_string()
}

/// Which way a command runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Gnu,
    Ppool,
    /// `--shell` added, with bash as its shell: GNU parallel always runs
    /// the command through the shell it was started from.
    PpoolShell,
}

/// How ppool's run differs from GNU parallel's, or `None` when it does not.
fn difference(example: &Example, gnu: &Result, ours: &Result) -> Option<Verdict> {
    if ours.timed_out {
        return Some(Verdict::Different("ppool did not end in time".into()));
    }
    if ours.code == Some(255) && gnu.code != Some(255) && ours.stderr.contains("ppool: ") {
        let line = ours.stderr.lines().find(|l| l.contains("ppool")).unwrap_or("").trim();
        return Some(Verdict::Unsupported(line.to_string()));
    }
    if gnu.stdout != ours.stdout {
        return Some(Verdict::Different(format!(
            "stdout, {}",
            first_difference(&gnu.stdout, &ours.stdout)
        )));
    }
    // GNU parallel counts a task that {choose_k} or {uniq} skips as failed,
    // ppool does not, on purpose (README, "GNU parallel → ppool").
    let skips = example.command.contains("choose_k}") || example.command.contains("uniq}");
    if gnu.success != ours.success && !skips {
        return Some(Verdict::Different(format!(
            "GNU parallel {}, ppool {}",
            if gnu.success { "succeeded" } else { "failed" },
            if ours.success { "succeeded" } else { "failed" }
        )));
    }
    if gnu.files != ours.files {
        let names: BTreeSet<_> = gnu.files.keys().chain(ours.files.keys()).collect();
        let name = names
            .into_iter()
            .find(|n| gnu.files.get(*n) != ours.files.get(*n))
            .cloned()
            .unwrap_or_default();
        return Some(Verdict::Different(format!("the file {name} differs")));
    }
    None
}

fn judge(sandbox: &Sandbox, number: usize, example: &Example) -> Verdict {
    let text = format!("{}\n{}", example.prelude, example.command);
    if let Some((_, why)) = NOT_RUNNABLE.iter().find(|(needle, _)| text.contains(needle)) {
        return Verdict::NotRunnable(why.to_string());
    }
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(needle, _)| text.contains(needle)) {
        return Verdict::Unsupported(format!("{why}{LEFT_OUT}"));
    }
    let gnu = sandbox.run(number, example, Side::Gnu);
    if gnu.timed_out {
        return Verdict::NotRunnable("GNU parallel did not end in time".into());
    }
    if gnu.stderr.contains("command not found") || gnu.stderr.contains(": not found") {
        return Verdict::NotRunnable("a program this machine lacks".into());
    }
    // A run cut by the limit goes again once: a load spike on a shared
    // machine is no hang, which ends twice.
    let ours = |side| {
        let result = sandbox.run(number, example, side);
        if result.timed_out {
            sandbox.run(number, example, side)
        } else {
            result
        }
    };
    let Some(plain) = difference(example, &gnu, &ours(Side::Ppool)) else {
        return Verdict::Same;
    };
    if difference(example, &gnu, &ours(Side::PpoolShell)).is_none() {
        return Verdict::SameWithShell;
    }
    // Where the result hangs on which task ends first (`{%}`, `--halt` with
    // -j2), GNU parallel's own differs from run to run: both sides go
    // again, and ppool's counts as the same when it is one of GNU
    // parallel's results.
    let mut gnus = vec![gnu];
    for _ in 1..ROUNDS {
        let gnu = sandbox.run(number, example, Side::Gnu);
        if !gnu.timed_out {
            gnus.push(gnu);
        }
        for (side, verdict) in [(Side::Ppool, Verdict::Same), (Side::PpoolShell, Verdict::SameWithShell)] {
            let ours = ours(side);
            if gnus.iter().any(|gnu| difference(example, gnu, &ours).is_none()) {
                return verdict;
            }
        }
    }
    plain
}

fn same_list() -> Vec<String> {
    std::fs::read_to_string(SAME_LIST)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "runs GNU parallel's tutorial and examples both ways: minutes"]
fn gnu_parallel_tutorial_and_examples_behave_the_same() {
    if Command::new("parallel").arg("--version").output().is_err() {
        println!("SKIP: GNU parallel is not installed");
        return;
    }
    let Some(mut examples) = all_examples() else {
        println!("SKIP: parallel_tutorial(7) or parallel_examples(7) is not installed (man pages stripped?)");
        return;
    };
    if let Ok(only) = std::env::var("PPOOL_COMPAT_ONLY") {
        examples.retain(|e| e.key.contains(&only));
    }
    let root = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(root.path());
    let next = AtomicUsize::new(0);
    let verdicts = Mutex::new(vec![None; examples.len()]);
    std::thread::scope(|scope| {
        for _ in 0..RUNNERS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(example) = examples.get(i) else { break };
                let verdict = judge(&sandbox, i, example);
                verdicts.lock().unwrap()[i] = Some(verdict);
            });
        }
    });
    let verdicts: Vec<Verdict> = verdicts.into_inner().unwrap().into_iter().map(Option::unwrap).collect();

    let mut report = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (example, verdict) in examples.iter().zip(&verdicts) {
        *counts.entry(verdict.label()).or_default() += 1;
        let _ = writeln!(report, "{}\t{}\t{}", verdict.label(), example.key, verdict.detail());
    }
    let count = |label: &str| counts.get(label).copied().unwrap_or(0);
    let same = count("SAME") + count("SAME with -s");
    let left_out = verdicts
        .iter()
        .filter(|v| matches!(v, Verdict::Unsupported(why) if why.ends_with(LEFT_OUT)))
        .count();
    let runnable = same + count("DIFFERENT") + count("unsupported") - left_out;
    let _ = writeln!(
        report,
        "\n{} commands: {same} SAME of {runnable} runnable ({} as typed, {} with -s); \
         {} DIFFERENT, {} unsupported ({left_out} of them left out on purpose, not counted \
         as runnable), {} not runnable here",
        examples.len(),
        count("SAME"),
        count("SAME with -s"),
        count("DIFFERENT"),
        count("unsupported"),
        count("not runnable"),
    );
    let report_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gnu_compat-report.txt");
    std::fs::write(&report_path, &report).unwrap();
    println!("{report}\n(report in {})", report_path.display());

    if std::env::var_os("PPOOL_COMPAT_WRITE").is_some() {
        let mut list = String::from(
            "# Commands of parallel_tutorial(7) and parallel_examples(7) that behave as\n\
             # GNU parallel's do; tests/gnu_compat.rs fails when one stops doing so.\n\
             # `[-s] ` marks those that need ppool's --shell, which GNU parallel implies.\n",
        );
        for (example, verdict) in examples.iter().zip(&verdicts) {
            match verdict {
                Verdict::Same => list.push_str(&format!("{}\n", example.key)),
                Verdict::SameWithShell => list.push_str(&format!("{SHELL_MARK}{}\n", example.key)),
                _ => {}
            }
        }
        std::fs::write(SAME_LIST, list).unwrap();
    }

    let by_key: BTreeMap<&str, &Verdict> = examples.iter().map(|e| e.key.as_str()).zip(&verdicts).collect();
    let mut lost = Vec::new();
    for line in same_list() {
        let (key, shell_allowed) = match line.strip_prefix(SHELL_MARK) {
            Some(key) => (key, true),
            None => (line.as_str(), false),
        };
        match by_key.get(key) {
            Some(Verdict::Same) => {}
            Some(Verdict::SameWithShell) if shell_allowed => {}
            // Slower than the limit on a loaded machine, or a filtered run.
            Some(Verdict::NotRunnable(why)) => println!("NOTE: {key}: not runnable this time: {why}"),
            None => {}
            Some(verdict) => lost.push(format!("{}: {key}: {}", verdict.label(), verdict.detail())),
        }
    }
    assert!(
        lost.is_empty(),
        "commands that behaved as GNU parallel's no longer do:\n{}",
        lost.join("\n")
    );
}

#[test]
fn clock_times_are_masked_and_other_numbers_kept() {
    assert_eq!(
        mask_clock("Mon Nov 30 23:35:38 UTC 2026\nStarting 1\n12:34\n"),
        "Mon Nov 30 HH:MM:SS UTC 2026\nStarting 1\n12:34\n"
    );
}

#[test]
fn roff_verbatim_lines_are_read_as_the_manual_shows_them() {
    assert_eq!(
        unroff(r"\&  parallel \-k echo \*(Aq{}\*(Aq \e; a\e\et"),
        "  parallel -k echo '{}' \\; a\\\\t"
    );
    let block: Vec<String> = [
        "  f() {",
        "    echo $1",
        "  }",
        "  parallel f ::: 1 \\",
        "    ::: 2",
        "",
        "  parallel: This job failed:",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let examples = examples_of(&block);
    assert_eq!(examples.len(), 1);
    assert_eq!(examples[0].key, "parallel f ::: 1 \\ ::: 2");
    assert_eq!(examples[0].prelude, "f() {\n  echo $1\n}\n");
    assert!(runs_parallel("seq 3 | parallel echo"));
    assert!(!runs_parallel("man parallel_tutorial"));
    assert!(!runs_parallel("env_parallel echo"));
}

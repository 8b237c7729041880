//! What a remote task needs around its command: `--transferfile` before it,
//! `--return` and `--cleanup` after it, `--workdir` and `--env` for it.
//!
//! A path keeps its place under the remote working directory, as GNU
//! parallel puts it: `a/b` goes to `WD/a/b`, `/abs/b` to `/abs/b`, and
//! `base/./a/b` to `WD/a/b` (the part after `/./`; here it stays
//! `base/a/b`). Files move with rsync when this machine has it and the host
//! answers `command -v rsync`; else through the ssh connection itself, as a
//! tar stream. Each copy is one process (rsync, or `sh` running tar into
//! ssh) run as a task's process is, in the slot's process group, so a stop
//! or a signal reaches it.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::process::{self, Spawn};
use crate::cancel::Cancel;
use crate::input::Record;
use crate::task::{Outcome, Status};
use crate::template::{quote, Syntax, Template};

/// What the command line asked for, templates not yet parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Files {
    /// `--transferfile` (`--transfer` and `--trc` add `{}`).
    pub transfer: Vec<OsString>,
    /// `--return` and `--trc`.
    pub returns: Vec<OsString>,
    pub cleanup: bool,
    pub workdir: Option<Workdir>,
    /// `--env`: each variable's name and value, read when the run starts.
    pub env: Vec<(OsString, OsString)>,
}

impl Files {
    /// Nothing to do around a remote command.
    pub fn is_empty(&self) -> bool {
        self.transfer.is_empty() && self.returns.is_empty() && self.workdir.is_none() && self.env.is_empty()
    }
}

/// `--workdir`.
#[derive(Debug, Clone, PartialEq)]
pub enum Workdir {
    /// `...`: a directory of its own for each task under
    /// `~/.parallel/tmp/`, removed after it.
    Temporary,
    /// A directory, a template: relative to the login directory unless absolute.
    Dir(OsString),
}

enum WorkdirTemplate {
    Temporary,
    Dir(Template),
}

/// The templates parsed, and what is learned about the hosts as the run goes.
pub struct Setup {
    transfer: Vec<Template>,
    returns: Vec<Template>,
    cleanup: bool,
    workdir: Option<WorkdirTemplate>,
    /// `export NAME='value' …`, the line that gives each task `--env`.
    exports: Vec<u8>,
    /// rsync on this machine, when it is there.
    rsync: Option<PathBuf>,
    /// Per host name: whether it answered that it has rsync.
    remote_rsync: Mutex<HashMap<String, bool>>,
    /// `...` directories are named after this machine and this run.
    run_name: String,
    grace: Duration,
}

/// Where one file is on each side.
#[derive(Debug, Clone, PartialEq)]
struct Place {
    /// Here, relative to the current directory unless absolute.
    local: Vec<u8>,
    /// On the host, relative to the login directory unless absolute.
    remote: Vec<u8>,
    /// The directories between the working directory and the file, deepest
    /// first, as the login directory sees them: `--cleanup` removes those left empty.
    parents: Vec<Vec<u8>>,
}

/// One task's paths, rendered.
#[derive(Debug, Default)]
pub struct Plan {
    workdir: Option<Vec<u8>>,
    temporary: bool,
    transfer: Vec<Place>,
    returns: Vec<Place>,
}

impl Setup {
    /// `None` when there is nothing to do around a remote command.
    pub fn new(files: &Files, syntax: &Syntax, grace: Duration) -> Result<Option<Setup>, String> {
        if files.is_empty() {
            return Ok(None);
        }
        let parse = |option: &str, word: &OsString| {
            Template::parse_text(std::slice::from_ref(word), syntax)
                .map_err(|e| format!("{option} {}: {e}", word.to_string_lossy()))
        };
        let transfer = files
            .transfer
            .iter()
            .map(|w| parse("--transferfile", w))
            .collect::<Result<_, _>>()?;
        let returns = files
            .returns
            .iter()
            .map(|w| parse("--return", w))
            .collect::<Result<_, _>>()?;
        let workdir = match &files.workdir {
            None => None,
            Some(Workdir::Temporary) => Some(WorkdirTemplate::Temporary),
            Some(Workdir::Dir(dir)) => Some(WorkdirTemplate::Dir(parse("--workdir", dir)?)),
        };
        let mut exports = Vec::new();
        if !files.env.is_empty() {
            exports.extend_from_slice(b"export");
            for (name, value) in &files.env {
                exports.push(b' ');
                exports.extend_from_slice(name.as_bytes());
                exports.push(b'=');
                // Quoted even when plain, so that `=`, `~` and globs never count.
                exports.push(b'\'');
                for &b in value.as_bytes() {
                    match b {
                        b'\'' => exports.extend_from_slice(b"'\\''"),
                        _ => exports.push(b),
                    }
                }
                exports.push(b'\'');
            }
            exports.push(b'\n');
        }
        Ok(Some(Setup {
            transfer,
            returns,
            cleanup: files.cleanup,
            workdir,
            exports,
            rsync: super::command::resolve(OsStr::new("rsync")).ok(),
            remote_rsync: Mutex::new(HashMap::new()),
            run_name: format!("{}-{}", hostname(), std::process::id()),
            grace,
        }))
    }

    /// The task's paths: `Err` when a template cannot be rendered for it.
    pub fn plan(&self, record: &Record, slot: usize) -> Result<Plan, String> {
        let (workdir, temporary) = match &self.workdir {
            None => (None, false),
            Some(WorkdirTemplate::Temporary) => (
                Some(format!(".parallel/tmp/{}-{}", self.run_name, record.seq).into_bytes()),
                true,
            ),
            Some(WorkdirTemplate::Dir(template)) => (Some(normal_workdir(&render(template, record, slot)?)), false),
        };
        let places = |templates: &[Template]| -> Result<Vec<Place>, String> {
            let mut places = Vec::new();
            for template in templates {
                for member in members(record) {
                    places.push(place(&render(template, member, slot)?, workdir.as_deref())?);
                }
            }
            Ok(places)
        };
        Ok(Plan {
            transfer: places(&self.transfer)?,
            returns: places(&self.returns)?,
            workdir,
            temporary,
        })
    }

    /// The task's line as the remote shell runs it: in the working
    /// directory, made when missing, with the `--env` variables. A working
    /// directory that cannot be entered fails the task with cd's status.
    pub fn line(&self, plan: &Plan, line: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(dir) = &plan.workdir {
            let dir = quote(dir);
            out.extend_from_slice(b"mkdir -p -- ");
            out.extend_from_slice(&dir);
            out.extend_from_slice(b" && cd -- ");
            out.extend_from_slice(&dir);
            out.extend_from_slice(b" || exit\n");
        }
        out.extend_from_slice(&self.exports);
        out.extend_from_slice(line);
        out
    }

    /// Copies the task's `--transferfile` files to `host`.
    pub fn send(&self, ssh: &[OsString], host: &str, plan: &Plan, run: &Run) -> Result<(), SendError> {
        if plan.transfer.is_empty() {
            return Ok(());
        }
        let rsync = self.rsync_for(ssh, host, run);
        for file in &plan.transfer {
            let shown = String::from_utf8_lossy(&file.local);
            let failed = |why: String| {
                SendError::Failed(format!(
                    "ppool: task {}: cannot send {shown} to {host}: {why}",
                    run.record.seq
                ))
            };
            std::fs::symlink_metadata(OsStr::from_bytes(&file.local))
                .map_err(|e| failed(format!("{e} (check the --transferfile template)")))?;
            let (rdir, _) = split(&file.remote);
            let (ldir, name) = split(&file.local);
            let result = match &rsync {
                Some(rsync) => {
                    let mkdir = [b"mkdir -p -- ", &*quote(rdir), b" && rsync"].concat();
                    let mut args = rsync_args(ssh);
                    args.push(OsString::from_vec([b"--rsync-path=", &mkdir[..]].concat()));
                    args.push("--".into());
                    args.push(OsString::from_vec(relative_dot(&file.local)));
                    args.push(OsString::from_vec([host.as_bytes(), b":", rdir, b"/"].concat()));
                    run.process(rsync, &args, self.grace)
                }
                None => {
                    let remote = [
                        b"mkdir -p -- ",
                        &*quote(rdir),
                        b" && cd -- ",
                        &*quote(rdir),
                        b" && tar -xof -",
                    ]
                    .concat();
                    let producer = [b"tar -cf - -C ", &*quote(ldir), b" ", &*quote(&relative_dash(name))].concat();
                    let consumer = ssh_line(ssh, host, &remote);
                    run.process(Path::new("/bin/sh"), &pipeline(&producer, &consumer), self.grace)
                }
            };
            match result {
                Ok(()) => {}
                // ssh's own status (rsync passes it on): the host was not reached.
                Err(Failure { code: Some(255), said }) if !run.cancel.is_stopping() => {
                    return Err(SendError::Unreachable(said))
                }
                Err(failure) => return Err(failed(failure.to_string())),
            }
        }
        Ok(())
    }

    /// After the command: brings the `--return` files back, then with
    /// `--cleanup` removes the task's files on `host`, and a `...` working
    /// directory in any case. A failure is noted on the task's stderr; a
    /// task that had succeeded then fails with status `transfer`. Nothing
    /// is done once the run is stopping.
    pub fn finish(&self, ssh: &[OsString], host: &str, plan: &Plan, run: &Run, outcome: &mut Outcome) {
        if run.cancel.is_stopping() {
            return;
        }
        let sent = plan
            .transfer
            .iter()
            .map(|f| bytes_in(OsStr::from_bytes(&f.local)))
            .sum();
        let mut errors = Vec::new();
        if !plan.returns.is_empty() {
            let rsync = self.rsync_for(ssh, host, run);
            for file in &plan.returns {
                if let Err(why) = self
                    .fetch(ssh, host, file, rsync.as_deref(), run)
                    .map_err(|f| f.to_string())
                {
                    errors.push(format!(
                        "ppool: task {}: cannot bring {} back from {host}: {why}",
                        run.record.seq,
                        String::from_utf8_lossy(&file.local)
                    ));
                }
            }
        }
        if let Some(command) = self.cleanup_line(plan) {
            let mut args = ssh[1..].to_vec();
            args.extend(["--".into(), host.into(), OsString::from_vec(command)]);
            if let Err(why) = run
                .process(Path::new(&ssh[0]), &args, self.grace)
                .map_err(|f| f.to_string())
            {
                errors.push(format!(
                    "ppool: task {}: cannot clean up on {host}: {why}",
                    run.record.seq
                ));
            }
        }
        if !plan.transfer.is_empty() || !plan.returns.is_empty() {
            let received = plan.returns.iter().map(|f| bytes_in(OsStr::from_bytes(&f.local))).sum();
            outcome.extra().transferred = Some((sent, received));
        }
        if errors.is_empty() {
            return;
        }
        for error in &errors {
            outcome.stderr.push_message(error);
        }
        if outcome.status == Status::Ok {
            outcome.status = Status::Transfer;
        }
    }

    fn fetch(
        &self,
        ssh: &[OsString],
        host: &str,
        file: &Place,
        rsync: Option<&Path>,
        run: &Run,
    ) -> Result<(), Failure> {
        let (ldir, _) = split(&file.local);
        let (rdir, name) = split(&file.remote);
        std::fs::create_dir_all(OsStr::from_bytes(ldir)).map_err(|e| Failure {
            code: None,
            said: format!("cannot make {}: {e}", String::from_utf8_lossy(ldir)),
        })?;
        match rsync {
            Some(rsync) => {
                let mut args = rsync_args(ssh);
                args.push("--".into());
                args.push(OsString::from_vec([host.as_bytes(), b":", &file.remote].concat()));
                args.push(OsString::from_vec([&relative_dot(ldir)[..], b"/"].concat()));
                run.process(rsync, &args, self.grace)
            }
            None => {
                let remote = [
                    b"cd -- ",
                    &*quote(rdir),
                    b" && tar -cf - ",
                    &*quote(&relative_dash(name)),
                ]
                .concat();
                let producer = ssh_line(ssh, host, &remote);
                let consumer = [b"tar -xof - -C ", &*quote(ldir)].concat();
                run.process(Path::new("/bin/sh"), &pipeline(&producer, &consumer), self.grace)
            }
        }
    }

    /// The remote command that removes what the task left: its files and
    /// the directories they leave empty with `--cleanup`, a `...` working
    /// directory always. `None` when there is nothing to remove.
    fn cleanup_line(&self, plan: &Plan) -> Option<Vec<u8>> {
        let mut line = b"s=0".to_vec();
        if self.cleanup {
            let files: Vec<&Place> = plan.transfer.iter().chain(&plan.returns).collect();
            if !files.is_empty() {
                line.extend_from_slice(b"; rm -f --");
                for file in &files {
                    line.push(b' ');
                    line.extend_from_slice(&quote(&file.remote));
                }
                line.extend_from_slice(b" || s=1");
            }
            let mut parents: Vec<&Vec<u8>> = files.iter().flat_map(|f| &f.parents).collect();
            // Deepest first, so a directory is empty by the time its turn comes.
            parents.sort_by(|a, b| depth(b).cmp(&depth(a)).then(a.cmp(b)));
            parents.dedup();
            if !parents.is_empty() {
                line.extend_from_slice(b"; rmdir --");
                for dir in parents {
                    line.push(b' ');
                    line.extend_from_slice(&quote(dir));
                }
                line.extend_from_slice(b" 2>/dev/null");
            }
        }
        if let (true, Some(dir)) = (plan.temporary, &plan.workdir) {
            line.extend_from_slice(b"; rm -rf -- ");
            line.extend_from_slice(&quote(dir));
            line.extend_from_slice(b" || s=1");
        }
        (line.len() > 3).then(|| [&line[..], b"; exit $s"].concat())
    }

    /// rsync when both ends have it, asked of each host once.
    fn rsync_for(&self, ssh: &[OsString], host: &str, run: &Run) -> Option<PathBuf> {
        let rsync = self.rsync.as_ref()?;
        if let Some(&known) = crate::lock(&self.remote_rsync).get(host) {
            return known.then(|| rsync.clone());
        }
        let mut args = ssh[1..].to_vec();
        args.extend(["--".into(), host.into(), "command -v rsync >/dev/null".into()]);
        let answer = match run.status(Path::new(&ssh[0]), &args, self.grace) {
            Some(0) => true,
            // ssh's own failure says nothing about rsync: ask again next time.
            Some(255) | None => return None,
            Some(_) => false,
        };
        crate::lock(&self.remote_rsync).insert(host.to_owned(), answer);
        answer.then(|| rsync.clone())
    }
}

/// Why the files could not be sent.
#[derive(Debug)]
pub enum SendError {
    /// ssh could not reach the host, and said so: the host is down.
    Unreachable(String),
    /// The task's failure, with status `transfer`: the whole message.
    Failed(String),
}

/// A copy that did not succeed: its exit status and what it said.
struct Failure {
    code: Option<i32>,
    said: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said)
    }
}

/// The task a copy is made for, and where its processes run.
pub struct Run<'a> {
    pub record: &'a Record,
    pub slot: usize,
    pub cancel: &'a Cancel,
}

impl Run<'_> {
    /// Runs a copy to its end.
    fn process(&self, program: &Path, args: &[OsString], grace: Duration) -> Result<(), Failure> {
        let mut ended = self
            .spawn(program, args, grace)
            .map_err(|said| Failure { code: None, said })?;
        if ended.exit_code == Some(0) {
            return Ok(());
        }
        let said = ended.stderr.read_all().unwrap_or_default();
        let mut said = String::from_utf8_lossy(said.trim_ascii()).replace('\n', "; ");
        let how = match (ended.exit_code, ended.signal) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "no exit status".to_owned(),
        };
        said = if said.is_empty() {
            how
        } else {
            format!("{said} ({how})")
        };
        Err(Failure {
            code: ended.exit_code,
            said,
        })
    }

    /// The exit status of a question asked of a host; `None` when it could not run.
    fn status(&self, program: &Path, args: &[OsString], grace: Duration) -> Option<i32> {
        self.spawn(program, args, grace).ok()?.exit_code
    }

    fn spawn(&self, program: &Path, args: &[OsString], grace: Duration) -> Result<process::Ended, String> {
        let spawn = Spawn {
            program,
            args,
            more: &[],
            seq: self.record.seq,
            slot: self.slot,
            timeout: None,
            grace,
            inherit_stdio: false,
            hold_stdin: false,
            feed: None,
            lines: None,
            stream: None,
        };
        process::run(&spawn, self.cancel).map_err(|e| format!("cannot run {}: {e}", program.display()))
    }
}

/// A batch's records each bring their files; a single record its own.
fn members(record: &Record) -> Vec<&Record> {
    if record.batch.is_empty() {
        vec![record]
    } else {
        record.batch.iter().collect()
    }
}

/// One word rendered: with no placeholder it is the word as written.
fn render(template: &Template, record: &Record, slot: usize) -> Result<Vec<u8>, String> {
    let words = template.render_argv(record, slot).map_err(|e| e.0)?;
    Ok(words.into_iter().next().unwrap_or_default().into_vec())
}

/// As GNU parallel takes `--workdir`: `/./` is `/`, no `./` before it and
/// no `/` after it.
fn normal_workdir(dir: &[u8]) -> Vec<u8> {
    let mut dir = dir.to_vec();
    while let Some(at) = dir.windows(3).position(|w| w == b"/./") {
        dir.drain(at..at + 2);
    }
    while dir.starts_with(b"./") {
        dir.drain(..2);
    }
    while dir.len() > 1 && dir.ends_with(b"/") {
        dir.pop();
    }
    if dir.is_empty() {
        dir.push(b'.');
    }
    dir
}

/// Where `path` goes on the host, under `workdir` (the login directory when `None`).
fn place(path: &[u8], workdir: Option<&[u8]>) -> Result<Place, String> {
    let mut path = path;
    while path.starts_with(b"./") {
        path = &path[2..];
    }
    while path.len() > 1 && path.ends_with(b"/") {
        path = &path[..path.len() - 1];
    }
    let (local, relative) = match path.windows(3).position(|w| w == b"/./") {
        Some(at) => {
            let mut rest = &path[at + 3..];
            while rest.starts_with(b"/") {
                rest = &rest[1..];
            }
            ([&path[..at + 1], rest].concat(), Some(rest.to_vec()))
        }
        None if path.starts_with(b"/") => (path.to_vec(), None),
        None => (path.to_vec(), Some(path.to_vec())),
    };
    let (_, name) = split(&local);
    if matches!(name, b"" | b"." | b".." | b"/") {
        return Err(format!(
            "`{}` names no file to copy: check the --transferfile and --return templates",
            String::from_utf8_lossy(path)
        ));
    }
    let under = |p: &[u8]| match workdir {
        None => p.to_vec(),
        Some(dir) => [dir, b"/", p].concat(),
    };
    Ok(match relative {
        None => Place {
            remote: local.clone(),
            local,
            parents: Vec::new(),
        },
        Some(relative) => {
            let mut parents = Vec::new();
            let mut dir = &relative[..];
            while let Some(at) = dir.iter().rposition(|&b| b == b'/') {
                dir = &dir[..at];
                if !dir.is_empty() {
                    parents.push(under(dir));
                }
            }
            Place {
                remote: under(&relative),
                local,
                parents,
            }
        }
    })
}

/// The bytes of a file, or of the files under a directory, as the job
/// log counts a transfer; 0 for what is not there (a return that failed).
fn bytes_in(path: &OsStr) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map_or(0, |entries| {
        entries.flatten().map(|entry| bytes_in(entry.path().as_os_str())).sum()
    })
}

/// Directory and name: `a/b` is `a` and `b`, `b` is `.` and `b`, `/b` is `/` and `b`.
fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", &path[1..]),
        Some(at) => (&path[..at], &path[at + 1..]),
        None => (b".", path),
    }
}

fn depth(path: &[u8]) -> usize {
    path.iter().filter(|&&b| b == b'/').count()
}

/// A relative path with `./` before it, so rsync never reads `a:b` as a host.
fn relative_dot(path: &[u8]) -> Vec<u8> {
    if path.starts_with(b"/") {
        path.to_vec()
    } else {
        [b"./", path].concat()
    }
}

/// A name tar would take for an option gets `./` before it.
fn relative_dash(name: &[u8]) -> Vec<u8> {
    if name.starts_with(b"-") {
        [b"./", name].concat()
    } else {
        name.to_vec()
    }
}

/// rsync's options: recursive, links, permissions, times, devices,
/// compressed, and file names sent as they are (`-s`), not through the
/// remote shell. `-e` is the ssh command in rsync's own quoting.
fn rsync_args(ssh: &[OsString]) -> Vec<OsString> {
    let mut shell = Vec::new();
    for (i, word) in ssh.iter().enumerate() {
        if i > 0 {
            shell.push(b' ');
        }
        let word = word.as_bytes();
        if !word.is_empty() && !word.iter().any(|b| matches!(b, b' ' | b'\'' | b'"' | b'\t' | b'\n')) {
            shell.extend_from_slice(word);
        } else {
            // rsync splits -e at spaces; in single quotes, '' is one quote.
            shell.push(b'\'');
            for &b in word {
                if b == b'\'' {
                    shell.push(b'\'');
                }
                shell.push(b);
            }
            shell.push(b'\'');
        }
    }
    vec!["-rlptDzs".into(), "-e".into(), OsString::from_vec(shell)]
}

/// `ssh … -- HOST 'COMMAND'` as one line of shell text.
fn ssh_line(ssh: &[OsString], host: &str, command: &[u8]) -> Vec<u8> {
    let mut line = Vec::new();
    for word in ssh {
        line.extend_from_slice(&quote(word.as_bytes()));
        line.push(b' ');
    }
    line.extend_from_slice(b"-- ");
    line.extend_from_slice(&quote(host.as_bytes()));
    line.push(b' ');
    line.extend_from_slice(&quote(command));
    line
}

/// `sh -c` arguments that run `producer | consumer` and fail when either
/// does: a plain pipeline would have only the consumer's status, and a tar
/// that cannot read a file still writes an archive the other end accepts.
fn pipeline(producer: &[u8], consumer: &[u8]) -> Vec<OsString> {
    let script = [
        b"exec 4>&1\ns=$( { { " as &[u8],
        producer,
        b" 3>&- 4>&-; echo $? >&3; } | ",
        consumer,
        b" 3>&- >&4 4>&-; } 3>&1 ); c=$?\n[ \"${s:-1}\" = 0 ] || exit \"${s:-1}\"\nexit $c",
    ]
    .concat();
    vec!["-c".into(), OsString::from_vec(script)]
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length, which gethostname does not exceed.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match (ok, String::from_utf8_lossy(&buf[..end]).into_owned()) {
        (true, name) if !name.is_empty() && !name.contains('/') => name,
        _ => "localhost".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str, workdir: Option<&str>) -> (String, String, Vec<String>) {
        let place = place(path.as_bytes(), workdir.map(str::as_bytes)).unwrap();
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        (
            text(&place.local),
            text(&place.remote),
            place.parents.iter().map(|p| text(p)).collect(),
        )
    }

    #[test]
    fn paths_keep_their_place_under_the_working_directory() {
        // GNU parallel's table, with the login directory as working directory.
        assert_eq!(
            at("/tmp/foo/bar", None),
            ("/tmp/foo/bar".into(), "/tmp/foo/bar".into(), vec![])
        );
        assert_eq!(
            at("tmp/foo/bar", None),
            (
                "tmp/foo/bar".into(),
                "tmp/foo/bar".into(),
                vec!["tmp/foo".into(), "tmp".into()]
            )
        );
        assert_eq!(
            at("/tmp/./foo/bar", None),
            ("/tmp/foo/bar".into(), "foo/bar".into(), vec!["foo".into()])
        );
        assert_eq!(
            at("tmp/./foo/bar", None),
            ("tmp/foo/bar".into(), "foo/bar".into(), vec!["foo".into()])
        );
        assert_eq!(at("./a b", Some("/w")), ("a b".into(), "/w/a b".into(), vec![]));
        assert_eq!(
            at("out/./in/x.out", Some("w d")),
            ("out/in/x.out".into(), "w d/in/x.out".into(), vec!["w d/in".into()])
        );
        assert_eq!(at("dir/", Some("w")), ("dir".into(), "w/dir".into(), vec![]));
        assert!(place(b"", None).is_err());
        assert!(place(b"a/..", None).is_err());
        assert!(place(b"/", None).is_err());
    }

    #[test]
    fn a_workdir_is_normalised_as_gnu_parallel_does() {
        assert_eq!(normal_workdir(b"./a/./b/"), b"a/b");
        assert_eq!(normal_workdir(b"/"), b"/");
        assert_eq!(normal_workdir(b"./"), b".");
    }

    #[test]
    fn splits_name_directory_and_name() {
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b"."[..], &b"c"[..]));
        assert_eq!(split(b"/c"), (&b"/"[..], &b"c"[..]));
    }

    fn run_sh(args: &[OsString]) -> std::process::Output {
        std::process::Command::new("/bin/sh").args(args).output().unwrap()
    }

    #[test]
    fn a_pipeline_fails_when_either_side_fails() {
        let out = run_sh(&pipeline(b"printf ab", b"cat"));
        assert_eq!((out.status.code(), &out.stdout[..]), (Some(0), &b"ab"[..]));
        assert_eq!(run_sh(&pipeline(b"sh -c 'exit 3'", b"cat")).status.code(), Some(3));
        assert_ne!(run_sh(&pipeline(b"exit 3", b"cat")).status.code(), Some(0));
        assert_eq!(run_sh(&pipeline(b"true", b"exit 4")).status.code(), Some(4));
    }

    #[test]
    fn env_values_reach_the_shell_unchanged() {
        let files = Files {
            env: ["a b", "'; touch PWNED; '", "$(id) `id` \"q\"\nline2", "", "x=y~*"]
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("V{i}").into(), (*v).into()))
                .collect(),
            ..Files::default()
        };
        let setup = Setup::new(&files, &Syntax::default(), Duration::ZERO).unwrap().unwrap();
        let line = setup.line(
            &Plan::default(),
            b"printf '%s|' \"$V0\" \"$V1\" \"$V2\" \"$V3\" \"$V4\"",
        );
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(OsStr::from_bytes(&line))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "a b|'; touch PWNED; '|$(id) `id` \"q\"\nline2||x=y~*|"
        );
    }

    #[test]
    fn cleanup_removes_files_and_the_directories_they_leave_empty() {
        let files = Files {
            transfer: vec!["{}".into()],
            returns: vec!["{.}.out".into()],
            cleanup: true,
            ..Files::default()
        };
        let setup = Setup::new(&files, &Syntax::default(), Duration::ZERO).unwrap().unwrap();
        let record = Record {
            seq: 1,
            whole: b"d/e/in x.txt".to_vec(),
            ..Record::default()
        };
        let plan = setup.plan(&record, 1).unwrap();
        let line = String::from_utf8(setup.cleanup_line(&plan).unwrap()).unwrap();
        assert_eq!(
            line,
            "s=0; rm -f -- 'd/e/in x.txt' 'd/e/in x.out' || s=1; rmdir -- d/e d 2>/dev/null; exit $s"
        );
        let nothing = Setup::new(
            &Files {
                returns: vec!["x".into()],
                ..Files::default()
            },
            &Syntax::default(),
            Duration::ZERO,
        )
        .unwrap()
        .unwrap();
        assert_eq!(nothing.cleanup_line(&nothing.plan(&record, 1).unwrap()), None);
    }
}

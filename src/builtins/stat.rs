//! `stat`: one JSON object describing the named path, without following a
//! final symlink.
//!
//! `{"path":"…","size":N,"kind":"file|dir|symlink|other","mtime":S}`:
//! `path` is the record (invalid UTF-8 replaced by U+FFFD), `size` is
//! `st_size` (a symlink's is the length of its target), `mtime` is seconds
//! since the epoch as a float carrying the nanoseconds as far as an `f64`
//! can (about a tenth of a microsecond today), always written with a
//! fractional part (`1700000000.0`).

use std::os::unix::fs::MetadataExt;

use serde::Serialize;

use super::{io_failure, record_path, Builtin, Failure};

pub(crate) struct Stat;

#[derive(Serialize)]
struct Entry<'a> {
    path: &'a str,
    size: u64,
    kind: &'static str,
    mtime: f64,
}

impl Builtin for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn help(&self) -> &'static str {
        "JSON object with the path, size, kind and mtime of the path the record names"
    }

    fn run(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        let meta = std::fs::symlink_metadata(record_path(record)).map_err(|e| io_failure("stat", record, &e))?;
        let file_type = meta.file_type();
        let kind = if file_type.is_file() {
            "file"
        } else if file_type.is_dir() {
            "dir"
        } else if file_type.is_symlink() {
            "symlink"
        } else {
            "other"
        };
        let entry = Entry {
            path: &String::from_utf8_lossy(record),
            size: meta.len(),
            kind,
            // mtime_nsec is in 0..1e9 even before the epoch, so the sum is
            // right for negative times too.
            mtime: meta.mtime() as f64 + meta.mtime_nsec() as f64 / 1e9,
        };
        serde_json::to_writer(&mut *out, &entry).map_err(|e| Failure {
            code: 1,
            message: format!("stat: {e}"),
        })?;
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use serde_json::Value;

    use super::*;

    fn stat(path: &Path) -> Value {
        let mut out = Vec::new();
        Stat.run(path.as_os_str().as_bytes(), &mut out).expect("stat succeeds");
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(out.last(), Some(&b'\n'));
        serde_json::from_slice(&out).expect("one JSON object")
    }

    #[test]
    fn describes_a_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").expect("write");
        let when = UNIX_EPOCH + Duration::new(1_700_000_000, 250_000_000);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(when))
            .expect("set mtime");

        let v = stat(&path);
        assert_eq!(v["path"], path.to_str().expect("utf-8 temp path"));
        assert_eq!(v["size"], 5);
        assert_eq!(v["kind"], "file");
        assert_eq!(v["mtime"].as_f64(), Some(1_700_000_000.25));
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn field_order_and_whole_second_mtime() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"").expect("write");
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(UNIX_EPOCH + Duration::from_secs(1_600_000_000)))
            .expect("set mtime");
        let mut out = Vec::new();
        Stat.run(path.as_os_str().as_bytes(), &mut out).expect("stat succeeds");
        let expected = format!(
            "{{\"path\":\"{}\",\"size\":0,\"kind\":\"file\",\"mtime\":1600000000.0}}\n",
            path.display()
        );
        assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
    }

    #[test]
    fn mtime_is_close_to_now_for_a_new_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").expect("write");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs_f64();
        let mtime = stat(&path)["mtime"].as_f64().expect("a number");
        assert!((now - mtime).abs() < 60.0, "{now} vs {mtime}");
    }

    #[test]
    fn describes_dirs_symlinks_and_others() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(stat(dir.path())["kind"], "dir");

        let link = dir.path().join("link");
        std::os::unix::fs::symlink("no/such/target", &link).expect("symlink");
        let v = stat(&link);
        assert_eq!(v["kind"], "symlink");
        assert_eq!(v["size"], "no/such/target".len());

        assert_eq!(stat(Path::new("/dev/null"))["kind"], "other");
    }

    #[test]
    fn non_utf8_path_is_lossy() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(OsStr::from_bytes(b"a\xffb\"q"));
        std::fs::write(&path, b"").expect("write");
        let v = stat(&path);
        let shown = v["path"].as_str().expect("a string");
        assert!(shown.ends_with("a\u{fffd}b\"q"), "{shown}");
    }

    #[test]
    fn missing_path_fails_naming_it() {
        let mut out = Vec::new();
        let err = Stat
            .run(b"/nonexistent/ppool-test", &mut out)
            .expect_err("missing path");
        assert_eq!(
            err,
            Failure {
                code: 1,
                message: "stat: /nonexistent/ppool-test: No such file or directory".into()
            }
        );
        assert!(out.is_empty());
    }
}

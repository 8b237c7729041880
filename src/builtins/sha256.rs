//! `sha256`: hashes the named file, printing the line `sha256sum` prints.

use std::fs::File;

use sha2::Digest;

use super::{for_each_chunk, io_failure, record_path, Builtin, Failure};

pub(crate) struct Sha256;

impl Builtin for Sha256 {
    fn name(&self) -> &'static str {
        "sha256"
    }

    fn help(&self) -> &'static str {
        "SHA-256 of the file the record names, as `sha256sum FILE` prints it"
    }

    fn run(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        let fail = |e: std::io::Error| io_failure("sha256", record, &e);
        let mut file = File::open(record_path(record)).map_err(fail)?;
        let mut hasher = sha2::Sha256::new();
        for_each_chunk(&mut file, |chunk| hasher.update(chunk)).map_err(fail)?;
        let digest = hasher.finalize();

        let escaped = needs_escape(record);
        if escaped {
            out.push(b'\\');
        }
        for byte in digest.iter() {
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0xf)]);
        }
        out.extend_from_slice(b"  ");
        if escaped {
            push_escaped(record, out);
        } else {
            out.extend_from_slice(record);
        }
        out.push(b'\n');
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `sha256sum` marks a line whose name holds a backslash, newline or
/// carriage return with a leading `\` and escapes those three in the name,
/// so that `sha256sum -c` can read the line back.
fn needs_escape(name: &[u8]) -> bool {
    name.iter().any(|&b| matches!(b, b'\\' | b'\n' | b'\r'))
}

fn push_escaped(name: &[u8], out: &mut Vec<u8>) {
    for &b in name {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::process::Command;

    use super::*;

    fn ours(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        Sha256
            .run(path.as_os_str().as_bytes(), &mut out)
            .expect("hashing succeeds");
        out
    }

    fn theirs(path: &Path) -> Vec<u8> {
        let output = Command::new("sha256sum")
            .arg(path)
            .env("LC_ALL", "C")
            .output()
            .expect("sha256sum runs");
        assert!(output.status.success(), "{output:?}");
        output.stdout
    }

    fn same_as_sha256sum(name: &[u8], content: &[u8]) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(&path, content).expect("write test file");
        assert_eq!(
            String::from_utf8_lossy(&ours(&path)),
            String::from_utf8_lossy(&theirs(&path))
        );
        assert_eq!(ours(&path), theirs(&path));
    }

    #[test]
    fn matches_sha256sum_on_small_files() {
        same_as_sha256sum(b"empty", b"");
        same_as_sha256sum(b"no-newline", b"hello");
        same_as_sha256sum(b"lines", b"hello\nworld\n");
        same_as_sha256sum(b"binary", b"\x00\xff\x00\x80\n\xfe\x00");
        same_as_sha256sum(b"with spaces  in name", b"x\n");
    }

    #[test]
    fn matches_sha256sum_on_a_file_larger_than_a_chunk() {
        let content: Vec<u8> = (0..10_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        same_as_sha256sum(b"big", &content);
        same_as_sha256sum(b"exact-chunk", &content[..super::super::CHUNK]);
        same_as_sha256sum(b"chunk-plus-one", &content[..super::super::CHUNK + 1]);
    }

    #[test]
    fn escapes_names_like_sha256sum() {
        same_as_sha256sum(b"back\\slash", b"x");
        same_as_sha256sum(b"new\nline", b"x");
        same_as_sha256sum(b"carriage\rreturn", b"x");
        same_as_sha256sum(b"all\\three\n\r", b"x");
        same_as_sha256sum(b"tab\there", b"x");
        same_as_sha256sum(b"latin1-\xe9", b"x");
    }

    #[test]
    fn known_digest() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hw");
        std::fs::write(&path, b"hello world").expect("write");
        let mut expected = b"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9  ".to_vec();
        expected.extend_from_slice(path.as_os_str().as_bytes());
        expected.push(b'\n');
        assert_eq!(ours(&path), expected);
    }

    #[test]
    fn missing_file_fails_naming_it() {
        let mut out = Vec::new();
        let err = Sha256
            .run(b"/nonexistent/ppool-test", &mut out)
            .expect_err("missing file");
        assert_eq!(
            err,
            Failure {
                code: 1,
                message: "sha256: /nonexistent/ppool-test: No such file or directory".into()
            }
        );
        assert!(out.is_empty());
    }

    #[test]
    fn directory_fails() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut out = Vec::new();
        let err = Sha256
            .run(dir.path().as_os_str().as_bytes(), &mut out)
            .expect_err("a directory cannot be hashed");
        assert_eq!(err.code, 1);
        assert!(err.message.ends_with(": Is a directory"), "{}", err.message);
        assert!(out.is_empty());
    }
}

//! `echo`: prints the record. The throughput path: nothing but a copy.

use super::{Builtin, Failure};

pub(crate) struct Echo;

impl Builtin for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn help(&self) -> &'static str {
        "print the record"
    }

    fn run(&self, record: &[u8], out: &mut Vec<u8>) -> Result<(), Failure> {
        out.extend_from_slice(record);
        out.push(b'\n');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_record_and_a_newline() {
        let mut out = Vec::new();
        Echo.run(b"a b", &mut out).expect("echo succeeds");
        Echo.run(b"", &mut out).expect("echo succeeds");
        Echo.run(b"\xff\x00", &mut out).expect("echo succeeds");
        assert_eq!(out, b"a b\n\n\xff\x00\n");
    }
}

//! Integration tests: one binary, one module per subject, each driving the
//! real `ppool` with assert_cmd.

mod builtins;
mod core;
mod docs;
mod dry_run;
mod guard;
mod help;
mod joblog;
mod policies;
mod progress;
mod reliability;
mod ssh;
mod util;

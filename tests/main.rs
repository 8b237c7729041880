//! Integration tests: one binary, one module per subject, each driving the
//! real `ppool` with assert_cmd.

mod builtins;
mod core;
mod docs;
mod dry_run;
mod help;
mod help_results;
mod joblog;
mod layers;
mod limits;
mod observers;
mod policies;
mod progress;
mod quoting;
mod reliability;
mod ssh;
mod tasks;
mod util;
mod worker_joblog;

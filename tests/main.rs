//! Integration tests: one binary, one module per subject, each driving the
//! real `ppool` with assert_cmd.

mod batches;
mod builtins;
mod core;
mod docs;
mod dry_run;
mod gnu_compat;
mod gnu_options;
mod gnu_spellings;
mod guard;
mod halt;
mod help;
mod help_results;
mod joblog;
mod layers;
mod limits;
mod observers;
mod package;
mod pipe;
mod pipepart;
mod policies;
mod process;
mod progress;
mod quoting;
mod reliability;
mod replace;
mod sources;
mod ssh;
mod submit;
mod tasks;
mod util;
mod worker_joblog;

//! ppool: a parallel runner with the semantics of Python's `multiprocessing.Pool`.

pub mod builtins;
pub mod input;

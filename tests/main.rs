//! Integration tests: one binary, one module per area, driving the real `ppool`.

mod core;
mod policies;
mod reliability;
mod util;

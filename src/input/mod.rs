//! Input: lines, NUL items, `:::` groups, `--colsep` columns and JSON Lines,
//! read lazily and numbered.

mod record;

pub use record::Record;

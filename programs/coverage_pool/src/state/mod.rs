//! Account layouts. Every account carries a version byte, its canonical bump,
//! and reserved bytes to grow into without a migration.

pub mod market;
pub mod pool;
pub mod withdrawal;

pub use market::*;
pub use pool::*;
pub use withdrawal::*;

//! Account layouts. Every account carries a version byte, its canonical bump,
//! and reserved bytes to grow into without a migration.

pub mod book;
pub mod ledger;
pub mod market;
pub mod policy;
pub mod pool;
pub mod withdrawal;

pub use book::*;
pub use ledger::*;
pub use market::*;
pub use policy::*;
pub use pool::*;
pub use withdrawal::*;

//! One file per instruction, grouped by who calls it.

pub mod admin;
pub mod buyer;
pub mod keeper;
pub mod staker;

pub use admin::*;
pub use buyer::*;
pub use keeper::*;
pub use staker::*;

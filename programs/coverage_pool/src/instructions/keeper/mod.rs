pub mod check_trigger;
pub mod release_reserve;
pub mod settle_policies;

pub use check_trigger::*;
pub use release_reserve::*;
pub use settle_policies::*;

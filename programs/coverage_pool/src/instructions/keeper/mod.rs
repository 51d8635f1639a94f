pub mod accrue_premium;
pub mod check_trigger;
pub mod release_reserve;
pub mod settle_policies;

pub use accrue_premium::*;
pub use check_trigger::*;
pub use release_reserve::*;
pub use settle_policies::*;

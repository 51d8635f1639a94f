pub mod buy_cover;
pub mod close_policy;
pub mod transfer_policy;

pub use buy_cover::*;
pub use close_policy::*;
pub use transfer_policy::*;

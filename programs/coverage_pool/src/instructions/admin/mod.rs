pub mod collect_fees;
pub mod create_market;
pub mod governance;
pub mod initialize_pool;
pub mod initialize_tranche;
pub mod market_lifecycle;
pub mod set_paused;

pub use collect_fees::*;
pub use create_market::*;
pub use governance::*;
pub use initialize_pool::*;
pub use initialize_tranche::*;
pub use market_lifecycle::*;
pub use set_paused::*;

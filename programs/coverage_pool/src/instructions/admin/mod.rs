pub mod create_market;
pub mod initialize_pool;
pub mod initialize_tranche;

pub use create_market::*;
pub use initialize_pool::*;
pub use initialize_tranche::*;

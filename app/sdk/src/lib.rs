//! Client SDK of the coverage pool.
//!
//! Built on the program crate itself (`no-entrypoint`): account structs,
//! instruction data and account lists come from `coverage_pool::accounts` and
//! `coverage_pool::instruction`, so the SDK never re-describes bytes. The
//! pure core (`coverage_core`) is re-exported for quotes and replays.

#[cfg(feature = "bank")]
pub mod bank;
pub mod config;
pub mod errors;
pub mod ix;
pub mod keeper;
pub mod pda;
pub mod pyth;
pub mod quote;
pub mod setup;
pub mod transport;

pub use coverage_core as core;
pub use coverage_pool as program;
pub use coverage_pool::ID as PROGRAM_ID;

use anchor_lang::{AccountDeserialize, Result};

/// Decodes any of the program's accounts (checks the discriminator).
pub fn decode<T: AccountDeserialize>(data: &[u8]) -> Result<T> {
    T::try_deserialize(&mut &data[..])
}

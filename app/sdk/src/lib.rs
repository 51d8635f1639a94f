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
#[cfg(feature = "bank")]
pub mod scenario;
pub mod setup;
pub mod tables;
pub mod transport;
pub mod tx;

pub use coverage_core as core;
pub use coverage_pool as program;
pub use coverage_pool::ID as PROGRAM_ID;

use anchor_lang::{AccountDeserialize, Result};

/// Byte offset of `Policy::market` in a policy account (discriminator 8 +
/// version, bump, status): the `getProgramAccounts` memcmp filter for a
/// market's policies.
pub const POLICY_MARKET_OFFSET: usize = 8 + 3;

/// Decodes any of the program's accounts (checks the discriminator).
pub fn decode<T: AccountDeserialize>(data: &[u8]) -> Result<T> {
    T::try_deserialize(&mut &data[..])
}

#[cfg(test)]
mod offsets {
    use anchor_lang::prelude::Pubkey;
    use anchor_lang::AccountSerialize;
    use coverage_pool::state::{Policy, PolicyStatus};

    #[test]
    fn the_policy_filter_offset_points_at_the_market() {
        let (market, owner) = (Pubkey::new_unique(), Pubkey::new_unique());
        let policy = Policy {
            version: 1,
            bump: 255,
            status: PolicyStatus::Active,
            market,
            owner,
            id: 7,
            epoch: 1,
            amount: 2,
            premium: 3,
            purchased_at: 4,
            activation_time: 5,
            end_time: 6,
            payout: 0,
        };
        let mut data = Vec::new();
        policy.try_serialize(&mut data).unwrap();
        assert_eq!(&data[super::POLICY_MARKET_OFFSET..][..32], market.as_ref());
        assert_eq!(data.len(), 8 + <Policy as anchor_lang::Space>::INIT_SPACE);
    }
}

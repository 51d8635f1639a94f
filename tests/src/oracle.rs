//! Real Pyth `PriceUpdateV2` accounts for the bank: the receiver SDK's own
//! type, serialized with its discriminator, padded to `PriceUpdateV2::LEN`
//! and installed under the receiver program (or any other owner, to attack).

use anchor_lang::prelude::Pubkey;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_account::Account;
use solana_program_test::ProgramTestContext;

/// A USDC/USD-like feed id for tests.
pub const TEST_FEED: [u8; 32] = [7u8; 32];

/// One price update to install.
#[derive(Clone, Copy, Debug)]
pub struct PriceSpec {
    /// Feed id.
    pub feed_id: [u8; 32],
    /// Pyth price (with `exponent`).
    pub price: i64,
    /// Pyth confidence (with `exponent`).
    pub conf: u64,
    /// Decimal exponent.
    pub exponent: i32,
    /// Publish time, unix seconds.
    pub publish_time: i64,
    /// Verification level.
    pub level: VerificationLevel,
}

impl PriceSpec {
    /// A fully verified update of [`TEST_FEED`] with exponent −8.
    pub fn new(price: i64, conf: u64, publish_time: i64) -> Self {
        Self {
            feed_id: TEST_FEED,
            price,
            conf,
            exponent: -8,
            publish_time,
            level: VerificationLevel::Full,
        }
    }

    /// The account bytes: the SDK's real `PriceUpdateV2` serialization.
    pub fn data(&self) -> Vec<u8> {
        coverage_sdk::pyth::PriceUpdate {
            feed_id: self.feed_id,
            price: self.price,
            conf: self.conf,
            exponent: self.exponent,
            publish_time: self.publish_time,
            level: self.level,
        }
        .data()
    }
}

/// Installs (or overwrites) `address` with `spec`'s bytes under `owner`.
pub fn install_with_owner(ctx: &mut ProgramTestContext, address: &Pubkey, spec: &PriceSpec, owner: &Pubkey) {
    let data = spec.data();
    let account = Account {
        lamports: 10_000_000,
        data,
        owner: *owner,
        executable: false,
        rent_epoch: 0,
    };
    ctx.set_account(address, &account.into());
}

/// Installs `spec` at `address`, owned by the Pyth receiver program.
pub fn install(ctx: &mut ProgramTestContext, address: &Pubkey, spec: &PriceSpec) {
    install_with_owner(ctx, address, spec, &pyth_solana_receiver_sdk::ID);
}

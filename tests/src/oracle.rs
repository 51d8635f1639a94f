//! Real Pyth `PriceUpdateV2` accounts for the bank: the receiver SDK's own
//! type, serialized with its discriminator, padded to `PriceUpdateV2::LEN`
//! and installed under the receiver program (or any other owner, to attack).

use anchor_lang::prelude::Pubkey;
use solana_account::Account;
use solana_program_test::ProgramTestContext;

/// A USDC/USD-like feed id for tests.
pub const TEST_FEED: [u8; 32] = [7u8; 32];

/// One price update to install: the SDK's own (its `data()` is the real
/// `PriceUpdateV2` serialization).
pub type PriceSpec = coverage_sdk::pyth::PriceUpdate;

/// A fully verified update of [`TEST_FEED`] with exponent −8.
pub fn test_price(price: i64, conf: u64, publish_time: i64) -> PriceSpec {
    PriceSpec::new(TEST_FEED, price, conf, publish_time)
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

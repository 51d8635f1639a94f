//! Seeds, bounds and versions. Every bound a parameter is validated against
//! lives here (and in the README's parameter table).

use anchor_lang::prelude::*;

/// Seed of the pool PDA: `[POOL_SEED, creator, pool_id (u64 LE)]`.
#[constant]
pub const POOL_SEED: &[u8] = b"pool";
/// Seed of the vault token account: `[VAULT_SEED, pool]`; its authority is the pool PDA.
#[constant]
pub const VAULT_SEED: &[u8] = b"vault";
/// Seed of a tranche's share mint: `[SHARE_MINT_SEED, pool, tranche index]`.
#[constant]
pub const SHARE_MINT_SEED: &[u8] = b"share_mint";
/// Seed of a tranche's share escrow (shares locked by withdrawal requests):
/// `[SHARE_ESCROW_SEED, pool, tranche index]`.
#[constant]
pub const SHARE_ESCROW_SEED: &[u8] = b"share_escrow";
/// Seed of a withdrawal request: `[WITHDRAWAL_SEED, pool, tranche index, staker]`.
#[constant]
pub const WITHDRAWAL_SEED: &[u8] = b"withdrawal";
/// Seed of a market: `[MARKET_SEED, pool, market index (u32 LE)]`.
#[constant]
pub const MARKET_SEED: &[u8] = b"market";

/// Layout version written into every account this program creates.
pub const ACCOUNT_VERSION: u8 = 1;

/// Most tranches a pool may have.
pub const MAX_TRANCHES: usize = 4;
/// Most markets a pool may have (bounds every loop over a pool's markets).
pub const MAX_MARKETS: u32 = 16;

/// Staker cooldown bounds, seconds (1 hour ..= 90 days).
pub const MIN_COOLDOWN: u32 = 3_600;
pub const MAX_COOLDOWN: u32 = 90 * 86_400;
/// Withdraw window bounds, seconds (1 hour ..= 30 days).
pub const MIN_WITHDRAW_WINDOW: u32 = 3_600;
pub const MAX_WITHDRAW_WINDOW: u32 = 30 * 86_400;
/// Max leverage bounds, bps (1x ..= 5x).
pub const MIN_MAX_LEVERAGE_BPS: u32 = 10_000;
pub const MAX_MAX_LEVERAGE_BPS: u32 = 50_000;
/// Highest protocol fee, bps of premium (20 %).
pub const MAX_PROTOCOL_FEE_BPS: u16 = 2_000;

/// Trigger duration bounds, seconds (1 minute ..= 30 days).
pub const MIN_TRIGGER_DURATION: u32 = 60;
pub const MAX_TRIGGER_DURATION: u32 = 30 * 86_400;
/// Max gap bounds, seconds (1 minute ..= 1 day).
pub const MIN_MAX_GAP: u32 = 60;
pub const MAX_MAX_GAP: u32 = 86_400;
/// Max price age bounds, seconds (5 s ..= 1 hour).
pub const MIN_MAX_PRICE_AGE: u32 = 5;
pub const MAX_MAX_PRICE_AGE: u32 = 3_600;
/// Max confidence bounds, bps of price (0.01 % ..= 10 %).
pub const MIN_MAX_CONF_BPS: u16 = 1;
pub const MAX_MAX_CONF_BPS: u16 = 1_000;
/// Cover activation delay bounds, seconds: above the market's max price age,
/// at most 2 hours. With the longest max price age this is the longest
/// activation window the cover book is exact for.
pub const MAX_ACTIVATION_DELAY: u32 = 7_200;
const _: () = assert!(
    MAX_MAX_PRICE_AGE as i64 + MAX_ACTIVATION_DELAY as i64 <= coverage_core::book::MAX_ACTIVATION_WINDOW,
    "the cover book's pending ring must hold every accepted activation window"
);
/// A market's recovery price is at most this many times its strike (a
/// streak must be able to close: no honest market needs more).
pub const MAX_RECOVERY_OVER_STRIKE: u64 = 2;
/// Annual premium rate bound for any point of the pricing curve, bps (100 %).
pub const MAX_ANNUAL_RATE_BPS: u32 = 10_000;
/// Capacity allocation bound of a single market, bps of pool capital (100 %).
pub const MAX_ALLOCATION_BPS: u32 = 10_000;

/// Seed of the pool's premium ledger: `[LEDGER_SEED, pool]`.
#[constant]
pub const LEDGER_SEED: &[u8] = b"ledger";
/// Seed of a market's cover book: `[BOOK_SEED, market]`.
#[constant]
pub const BOOK_SEED: &[u8] = b"book";
/// Seed of a policy: `[POLICY_SEED, market, policy id (u64 LE)]`.
#[constant]
pub const POLICY_SEED: &[u8] = b"policy";

/// How long after a trigger every eligible policy can be settled; after it the
/// reserve may be released even with claims unsettled (30 days).
pub const CLAIM_WINDOW: i64 = 30 * 86_400;
/// Most (policy, token account) pairs `settle_policies` takes in one call.
pub const MAX_SETTLE_BATCH: usize = coverage_core::settlement::MAX_SETTLE_BATCH;

/// Extra delay of a queued parameter change (and of a new market's first
/// sale) beyond the cooldown and withdraw window (1 day), so a staker who
/// disagrees can always leave first.
pub const GOVERNANCE_GRACE: i64 = coverage_core::staking::GOVERNANCE_GRACE;

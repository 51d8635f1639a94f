//! Every event the program emits.

use anchor_lang::prelude::*;

#[event]
pub struct PoolInitialized {
    pub pool: Pubkey,
    pub authority: Pubkey,
    pub collateral_mint: Pubkey,
    pub tranche_count: u8,
}

#[event]
pub struct TrancheInitialized {
    pub pool: Pubkey,
    pub tranche: u8,
    pub share_mint: Pubkey,
}

#[event]
pub struct Deposited {
    pub pool: Pubkey,
    pub tranche: u8,
    pub staker: Pubkey,
    pub amount: u64,
    pub shares: u64,
    pub tranche_assets: u64,
}

#[event]
pub struct WithdrawalRequested {
    pub pool: Pubkey,
    pub tranche: u8,
    pub staker: Pubkey,
    pub shares: u64,
    pub value_at_request: u64,
    pub redeemable_from: i64,
    pub lapses_at: i64,
}

#[event]
pub struct WithdrawalCancelled {
    pub pool: Pubkey,
    pub tranche: u8,
    pub staker: Pubkey,
    pub shares: u64,
}

#[event]
pub struct Withdrawn {
    pub pool: Pubkey,
    pub tranche: u8,
    pub staker: Pubkey,
    pub shares: u64,
    pub amount: u64,
    pub tranche_assets: u64,
}

#[event]
pub struct MarketCreated {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub index: u32,
    pub feed_id: [u8; 32],
    pub strike: u64,
    pub recovery: u64,
    pub duration: u32,
    /// When the market's first sale may happen (after the governance delay).
    pub sales_open_at: i64,
}

#[event]
pub struct StreakOpened {
    pub market: Pubkey,
    pub epoch: u32,
    pub streak_start: i64,
    pub price_plus_conf: u64,
}

#[event]
pub struct StreakClosed {
    pub market: Pubkey,
    pub epoch: u32,
    pub streak_start: i64,
    pub closed_at: i64,
    pub price: u64,
}

#[event]
pub struct StreakDropped {
    pub market: Pubkey,
    pub epoch: u32,
    pub streak_start: i64,
    pub last_publish_time: i64,
    pub publish_time: i64,
}

#[event]
pub struct MarketTriggered {
    pub market: Pubkey,
    pub epoch: u32,
    pub streak_start: i64,
    pub trigger_time: i64,
    pub lowest_price: u64,
}

#[event]
pub struct CoverPurchased {
    pub policy: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub days: u16,
    pub premium: u64,
    pub fee: u64,
    pub activation_time: i64,
    pub end_time: i64,
}

#[event]
pub struct PolicyTransferred {
    pub policy: Pubkey,
    pub from: Pubkey,
    pub to: Pubkey,
}

#[event]
pub struct PolicyClosed {
    pub policy: Pubkey,
    pub owner: Pubkey,
    pub payout: u64,
}

#[event]
pub struct FeesCollected {
    pub pool: Pubkey,
    pub treasury: Pubkey,
    pub amount: u64,
}

#[event]
pub struct PauseChanged {
    pub pool: Pubkey,
    /// The market, or the default key for the whole pool.
    pub market: Pubkey,
    pub paused: bool,
}

#[event]
pub struct ReserveSet {
    pub market: Pubkey,
    pub epoch: u32,
    pub eligible_cover: u64,
    pub liability: u64,
    pub reserve: u64,
    pub haircut_bps: u64,
    pub taken: [u64; 4],
}

#[event]
pub struct PolicySettled {
    pub policy: Pubkey,
    pub market: Pubkey,
    pub owner: Pubkey,
    pub eligible: bool,
    pub payout: u64,
}

#[event]
pub struct ReserveReleased {
    pub market: Pubkey,
    pub epoch: u32,
    pub returned: u64,
    pub back: [u64; 4],
}

#[event]
pub struct MarketReopened {
    pub market: Pubkey,
    pub epoch: u32,
}

#[event]
pub struct MarketClosed {
    pub market: Pubkey,
}

#[event]
pub struct AuthorityProposed {
    pub pool: Pubkey,
    pub authority: Pubkey,
    pub proposed: Pubkey,
}

#[event]
pub struct AuthorityAccepted {
    pub pool: Pubkey,
    pub previous: Pubkey,
    pub authority: Pubkey,
}

#[event]
pub struct ChangeQueued {
    pub pool: Pubkey,
    /// The market, or the default key for a pool change.
    pub market: Pubkey,
    pub eta: i64,
}

#[event]
pub struct ChangeApplied {
    pub pool: Pubkey,
    pub market: Pubkey,
}

#[event]
pub struct ChangeCancelled {
    pub pool: Pubkey,
    pub market: Pubkey,
}

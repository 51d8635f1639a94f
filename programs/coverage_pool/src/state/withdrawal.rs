use anchor_lang::prelude::*;
use coverage_core::staking::WithdrawalTiming;

/// A staker's request to redeem shares of one tranche (PROTOCOL.md 3.1).
/// PDA `[WITHDRAWAL_SEED, pool, tranche, staker]`: one open request per
/// staker per tranche. The shares sit in the tranche's share escrow, still in
/// the supply, so they bear every loss until redeemed.
#[account]
#[derive(InitSpace, Debug)]
pub struct WithdrawalRequest {
    /// Layout version.
    pub version: u8,
    /// Canonical bump.
    pub bump: u8,
    /// Tranche index.
    pub tranche: u8,
    /// The pool.
    pub pool: Pubkey,
    /// The staker who made the request (and gets the rent back).
    pub staker: Pubkey,
    /// Shares locked in the escrow.
    pub shares: u64,
    /// What the shares were worth when requested (rounded down).
    pub value_at_request: u64,
    /// Unix time of the request (or its renewal).
    pub requested_at: i64,
    /// The pool's cooldown when the request was made: the request keeps the
    /// timing it was made under, whatever governance applies meanwhile.
    pub cooldown: u32,
    /// The pool's withdraw window when the request was made.
    pub withdraw_window: u32,
    /// Room to grow.
    pub reserved: [u8; 56],
}

impl WithdrawalRequest {
    /// When this request opens and lapses (the timing it was made under).
    pub fn timing(&self) -> WithdrawalTiming {
        WithdrawalTiming {
            cooldown: i64::from(self.cooldown),
            withdraw_window: i64::from(self.withdraw_window),
        }
    }
}

use anchor_lang::prelude::*;

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
    /// Room to grow.
    pub reserved: [u8; 64],
}

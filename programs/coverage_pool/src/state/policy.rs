use anchor_lang::prelude::*;

/// Whether a policy has been settled.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum PolicyStatus {
    /// Bought; in force between activation and end (or waiting for either).
    Active,
    /// Settled after a trigger (paid `payout`, possibly zero when ineligible).
    Settled,
}

/// Cover bought on a market. PDA `[POLICY_SEED, market, id]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Policy {
    /// Layout version.
    pub version: u8,
    /// Canonical bump.
    pub bump: u8,
    /// Settlement status.
    pub status: PolicyStatus,
    /// The pool.
    pub pool: Pubkey,
    /// The market.
    pub market: Pubkey,
    /// Who is paid (transferable).
    pub owner: Pubkey,
    /// Who paid the rent (kept for the record; rent goes back to `owner` on close).
    pub payer: Pubkey,
    /// Sequence number within the market (part of the seeds).
    pub id: u64,
    /// Market epoch the policy was bought in.
    pub epoch: u32,
    /// Days paid for.
    pub days: u16,
    /// Amount covered, collateral base units.
    pub amount: u64,
    /// Premium paid, collateral base units.
    pub premium: u64,
    /// Purchase time.
    pub purchased_at: i64,
    /// Cover starts (whole minute).
    pub activation_time: i64,
    /// Cover ends (00:00 UTC).
    pub end_time: i64,
    /// Amount paid at settlement.
    pub payout: u64,
    /// Room to grow.
    pub reserved: [u8; 32],
}

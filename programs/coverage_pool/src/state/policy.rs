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
///
/// Every buyer pays this account's rent, so it holds only what settlement,
/// transfer and close need, plus the premium and times a wallet shows: no
/// pool (the market's), no payer (rent goes back to the owner), no term in
/// days (`day_of(end_time) − day_of(activation_time)`), no padding (the
/// version byte is what a migration needs). 135 bytes with the discriminator.
#[account]
#[derive(InitSpace, Debug)]
pub struct Policy {
    /// Layout version.
    pub version: u8,
    /// Canonical bump.
    pub bump: u8,
    /// Settlement status.
    pub status: PolicyStatus,
    /// The market (its pool is the market's).
    pub market: Pubkey,
    /// Who is paid (transferable); gets the rent back on close.
    pub owner: Pubkey,
    /// Sequence number within the market (part of the seeds).
    pub id: u64,
    /// Market epoch the policy was bought in.
    pub epoch: u32,
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
}

use anchor_lang::prelude::*;

use crate::error::ErrorCode;
use crate::state::{Pool, PremiumLedger};

/// `accrue_premium` — earns the premium due up to now into the tranches
/// (PROTOCOL.md 3.2). Permissionless. Every instruction that reads a share
/// price or the capital accrues first anyway; this lets a keeper or a UI
/// bring share prices up to date without doing anything else.
///
/// * Checks: the ledger is the pool's (`WrongPool`).
/// * Effects: as `Pool::accrue_premium`.
#[derive(Accounts)]
pub struct AccruePremium<'info> {
    #[account(mut, has_one = ledger @ ErrorCode::WrongPool)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut)]
    pub ledger: AccountLoader<'info, PremiumLedger>,
}

pub fn accrue_premium_handler(ctx: Context<AccruePremium>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts
        .pool
        .accrue_premium(&mut *ctx.accounts.ledger.load_mut()?, now)
}

use anchor_lang::prelude::*;
use coverage_core::settlement::release_waterfall;

use crate::error::{CoreResultExt, ErrorCode};
use crate::events::ReserveReleased;
use crate::state::{Market, MarketStatus, Pool};

/// `release_reserve` — returns what is left of a triggered market's reserve
/// to the tranches, senior first, each up to what it gave (PROTOCOL.md 3.5).
/// Permissionless; never blocked by a pause.
///
/// * Checks: the market has triggered (`MarketNotTriggered`) and is this
///   pool's (`WrongPool`); not yet released (`ReserveReleased`); every
///   eligible policy is settled, or the claim window has passed
///   (`ClaimsOutstanding`).
/// * Effects: tranche assets grow by what comes back; the market may then be
///   reopened for a new epoch or closed by the authority; the epoch's
///   unsettled policies can no longer be paid and may be closed.
/// * Emits `ReserveReleased`.
#[derive(Accounts)]
pub struct ReleaseReserve<'info> {
    #[account(mut)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool)]
    pub market: Box<Account<'info, Market>>,
}

pub fn release_reserve_handler(ctx: Context<ReleaseReserve>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market = &mut ctx.accounts.market;
    require!(market.status == MarketStatus::Triggered, ErrorCode::MarketNotTriggered);
    let s = market.settlement;
    require!(!s.released, ErrorCode::ReserveReleased);
    require!(
        s.settled_cover >= s.eligible_cover || now > s.claim_deadline,
        ErrorCode::ClaimsOutstanding
    );
    let pool = &mut ctx.accounts.pool;
    let mut assets = pool.tranche_assets();
    let n = pool.tranche_count as usize;
    let back = release_waterfall(&mut assets[..n], &s.taken, s.reserve_left).or_named()?;
    pool.set_tranche_assets(&assets);
    pool.reserves_total = pool
        .reserves_total
        .checked_sub(s.reserve_left)
        .ok_or(ErrorCode::MathOverflow)?;
    market.settlement.reserve_left = 0;
    market.settlement.released = true;
    emit!(ReserveReleased {
        market: market.key(),
        epoch: market.epoch,
        returned: s.reserve_left,
        back
    });
    Ok(())
}

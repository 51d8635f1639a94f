use anchor_lang::prelude::*;
use coverage_core::policy::claimable_cover_day;

use crate::error::ErrorCode;
use crate::events::{MarketClosed, MarketReopened};
use crate::state::{CoverBook, Market, MarketStatus, Pool, Settlement};

/// `reopen_market` — after a trigger's reserve was released, the authority
/// starts a new epoch with the same (immutable) terms.
///
/// * Caller: the pool authority (`Unauthorized`); the market is the pool's.
/// * Checks: triggered (`MarketNotTriggered`) and released (`ReserveNotReleased`).
/// * Effects: epoch + 1, status `Active`, streak and settlement reset; the
///   last trigger event stays readable; old policies stay settled/closeable;
///   the last accepted publish time is kept (no replay into the new epoch).
/// * Emits `MarketReopened`.
#[derive(Accounts)]
pub struct ReopenMarket<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool)]
    pub market: Box<Account<'info, Market>>,
}

pub fn reopen_market_handler(ctx: Context<ReopenMarket>) -> Result<()> {
    let market = &mut ctx.accounts.market;
    require!(market.status == MarketStatus::Triggered, ErrorCode::MarketNotTriggered);
    require!(market.settlement.released, ErrorCode::ReserveNotReleased);
    market.epoch = market.epoch.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    market.status = MarketStatus::Active;
    market.streak_start = 0;
    market.streak_low = 0;
    market.settlement = Settlement::default();
    emit!(MarketReopened {
        market: market.key(),
        epoch: market.epoch
    });
    Ok(())
}

/// `close_market` — the authority retires a market for good; its allocation
/// is freed for other markets.
///
/// * Caller: the pool authority (`Unauthorized`); the market is the pool's.
/// * Checks: not already closed (`MarketClosed`); no open streak
///   (`MarketHasOpenStreak`); a triggered market's reserve is released
///   (`ReserveNotReleased`); otherwise no cover that a claim could still
///   reach (`MarketHasActiveCover`: cover already sold is never voided) —
///   cover in force at any streak start still to be reported, i.e. ending
///   after the earliest such start (core `policy::claimable_cover_day`).
/// * Emits `MarketClosed`.
#[derive(Accounts)]
pub struct CloseMarket<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool, has_one = book @ ErrorCode::WrongMarket)]
    pub market: Box<Account<'info, Market>>,
    pub book: AccountLoader<'info, CoverBook>,
}

pub fn close_market_handler(ctx: Context<CloseMarket>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market = &mut ctx.accounts.market;
    match market.status {
        MarketStatus::Closed => return err!(ErrorCode::MarketClosed),
        MarketStatus::StreakOpen => return err!(ErrorCode::MarketHasOpenStreak),
        MarketStatus::Triggered => require!(market.settlement.released, ErrorCode::ReserveNotReleased),
        MarketStatus::Active => {
            let day = claimable_cover_day(market.last_publish_time, i64::from(market.max_price_age), now);
            let claimable = ctx.accounts.book.load()?.active_cover_on(day)?;
            require!(claimable == 0, ErrorCode::MarketHasActiveCover);
        }
    }
    market.status = MarketStatus::Closed;
    let pool = &mut ctx.accounts.pool;
    pool.reallocate(market.allocation_bps, 0)?;
    emit!(MarketClosed { market: market.key() });
    Ok(())
}

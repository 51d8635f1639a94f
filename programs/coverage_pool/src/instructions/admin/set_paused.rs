use anchor_lang::prelude::*;

use crate::error::ErrorCode;
use crate::events::PauseChanged;
use crate::state::{Market, Pool};

/// `set_pool_paused(paused)` — the pool authority stops or resumes deposits
/// and cover sales on the whole pool, immediately (PROTOCOL.md 3.6). A pause
/// never blocks redemptions, trigger checks, settlement or policy close.
///
/// * Caller: the pool authority (`Unauthorized`).
/// * Emits `PauseChanged` (market: default).
#[derive(Accounts)]
pub struct SetPoolPaused<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
}

pub fn set_pool_paused_handler(ctx: Context<SetPoolPaused>, paused: bool) -> Result<()> {
    ctx.accounts.pool.paused = paused;
    emit!(PauseChanged {
        pool: ctx.accounts.pool.key(),
        market: Pubkey::default(),
        paused
    });
    Ok(())
}

/// `set_market_paused(paused)` — the pool authority stops or resumes cover
/// sales on one market, immediately. Observations and settlement go on.
///
/// * Caller: the pool authority (`Unauthorized`); the market is the pool's (`WrongPool`).
/// * Emits `PauseChanged`.
#[derive(Accounts)]
pub struct SetMarketPaused<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool)]
    pub market: Box<Account<'info, Market>>,
}

pub fn set_market_paused_handler(ctx: Context<SetMarketPaused>, paused: bool) -> Result<()> {
    ctx.accounts.market.paused = paused;
    emit!(PauseChanged {
        pool: ctx.accounts.pool.key(),
        market: ctx.accounts.market.key(),
        paused
    });
    Ok(())
}

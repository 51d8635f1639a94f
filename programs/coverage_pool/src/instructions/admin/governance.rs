//! Governance (PROTOCOL.md 3.6): a two-step authority transfer, and
//! parameter changes that could hurt stakers or buyers queued behind a delay
//! longer than a staker needs to leave (cooldown + withdraw window + 1 day),
//! visible on-chain, cancellable, applied by anyone once due. Trigger terms
//! are never changeable (a new market instead). Nothing here assumes the
//! authority is a keypair: every instruction only needs its signature, which
//! a multisig vault PDA (e.g. Squads) gives through its own execution.

use anchor_lang::prelude::*;

use crate::error::ErrorCode;
use crate::events::{AuthorityAccepted, AuthorityProposed, ChangeApplied, ChangeCancelled, ChangeQueued};
use crate::instructions::admin::create_market::validate_sale_params;
use crate::instructions::admin::initialize_pool::validate_pool_params;
use crate::state::{Market, MarketParamsChange, MarketStatus, Pool, PoolParamsChange, PremiumLedger};

/// The authority signs for its pool.
#[derive(Accounts)]
pub struct PoolAuthority<'info> {
    pub authority: Signer<'info>,
    #[account(mut, has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
}

/// `propose_authority(new_authority)` — first step of an authority
/// transfer; `Pubkey::default()` withdraws a proposal.
///
/// * Caller: the pool authority (`Unauthorized`).
/// * Emits `AuthorityProposed`.
pub fn propose_authority_handler(ctx: Context<PoolAuthority>, new_authority: Pubkey) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    pool.pending_authority = new_authority;
    emit!(AuthorityProposed {
        pool: pool.key(),
        authority: pool.authority,
        proposed: new_authority
    });
    Ok(())
}

/// The proposed authority accepts.
#[derive(Accounts)]
pub struct AcceptAuthority<'info> {
    pub new_authority: Signer<'info>,
    #[account(mut)]
    pub pool: Box<Account<'info, Pool>>,
}

/// `accept_authority` — second step: the proposed authority signs and
/// becomes the authority.
///
/// * Checks: a transfer is pending (`NoPendingAuthority`) and the signer is
///   the proposed key (`NotPendingAuthority`).
/// * Emits `AuthorityAccepted`.
pub fn accept_authority_handler(ctx: Context<AcceptAuthority>) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    require!(
        pool.pending_authority != Pubkey::default(),
        ErrorCode::NoPendingAuthority
    );
    require_keys_eq!(
        pool.pending_authority,
        ctx.accounts.new_authority.key(),
        ErrorCode::NotPendingAuthority
    );
    let previous = pool.authority;
    pool.authority = pool.pending_authority;
    pool.pending_authority = Pubkey::default();
    emit!(AuthorityAccepted {
        pool: pool.key(),
        previous,
        authority: pool.authority
    });
    Ok(())
}

/// `queue_pool_params(change)` — queues a new set of pool parameters (fee,
/// leverage, cooldown, window, premium weights).
///
/// * Caller: the pool authority (`Unauthorized`).
/// * Checks: nothing queued yet (`ChangeAlreadyQueued`); every value within
///   the bounds of `initialize_pool`, weights for exactly the pool's tranches.
/// * Effects: `eta = now + cooldown + withdraw_window + 1 day` (current values:
///   nothing else is queued on the pool).
/// * Emits `ChangeQueued`.
pub fn queue_pool_params_handler(ctx: Context<PoolAuthority>, change: PoolParamsChange) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &mut ctx.accounts.pool;
    require!(pool.pending_change_eta == 0, ErrorCode::ChangeAlreadyQueued);
    let n = pool.tranche_count as usize;
    require!(
        change.weights_bps[n..].iter().all(|w| *w == 0),
        ErrorCode::InvalidTrancheCount
    );
    validate_pool_params(
        &change.weights_bps[..n],
        change.cooldown,
        change.withdraw_window,
        change.max_leverage_bps,
        change.protocol_fee_bps,
    )?;
    let eta = now
        .checked_add(pool.governance_delay()?)
        .ok_or(ErrorCode::MathOverflow)?;
    pool.pending_change = change;
    pool.pending_change_eta = eta;
    emit!(ChangeQueued {
        pool: pool.key(),
        market: Pubkey::default(),
        eta
    });
    Ok(())
}

/// `cancel_pool_params` — the authority drops the queued pool change.
///
/// * Checks: a change is queued (`NoPendingChange`).
/// * Emits `ChangeCancelled`.
pub fn cancel_pool_params_handler(ctx: Context<PoolAuthority>) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    require!(pool.pending_change_eta != 0, ErrorCode::NoPendingChange);
    pool.pending_change = PoolParamsChange::default();
    pool.pending_change_eta = 0;
    emit!(ChangeCancelled {
        pool: pool.key(),
        market: Pubkey::default()
    });
    Ok(())
}

/// Anyone applies a due pool change.
#[derive(Accounts)]
pub struct ApplyPoolParams<'info> {
    #[account(mut, has_one = ledger @ ErrorCode::WrongPool)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut)]
    pub ledger: AccountLoader<'info, PremiumLedger>,
}

/// `apply_pool_params` — permissionless, once the delay has passed.
///
/// * Checks: the ledger is the pool's (`WrongPool`); a change is queued
///   (`NoPendingChange`) and due (`ChangeNotReady`); the markets'
///   allocations fit the new leverage (`InvalidAllocation`).
/// * Effects: first earns the premium due up to now under the old weights
///   (premium is earned as it streams, PROTOCOL.md 3.2: what streamed
///   before the change is split as the weights then were), then sets the
///   new parameters.
/// * Emits `ChangeApplied`.
pub fn apply_pool_params_handler(ctx: Context<ApplyPoolParams>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let pool = &mut ctx.accounts.pool;
    require!(pool.pending_change_eta != 0, ErrorCode::NoPendingChange);
    require!(now >= pool.pending_change_eta, ErrorCode::ChangeNotReady);
    let c = pool.pending_change;
    require!(
        pool.total_allocation_bps <= c.max_leverage_bps,
        ErrorCode::InvalidAllocation
    );
    pool.accrue_premium(&mut *ctx.accounts.ledger.load_mut()?, now)?;
    pool.protocol_fee_bps = c.protocol_fee_bps;
    pool.max_leverage_bps = c.max_leverage_bps;
    pool.cooldown = c.cooldown;
    pool.withdraw_window = c.withdraw_window;
    let n = pool.tranche_count as usize;
    for (t, w) in pool.tranches.iter_mut().zip(c.weights_bps).take(n) {
        t.premium_weight_bps = w;
    }
    pool.pending_change = PoolParamsChange::default();
    pool.pending_change_eta = 0;
    emit!(ChangeApplied {
        pool: pool.key(),
        market: Pubkey::default()
    });
    Ok(())
}

/// The authority acts on one of its pool's markets.
#[derive(Accounts)]
pub struct MarketAuthority<'info> {
    pub authority: Signer<'info>,
    #[account(has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool)]
    pub market: Box<Account<'info, Market>>,
}

/// `queue_market_params(change)` — queues a market's new pricing curve,
/// allocation and activation delay (its trigger terms never change).
///
/// * Caller: the pool authority (`Unauthorized`).
/// * Checks: the market is not closed (`MarketClosed`: closing is final);
///   nothing queued on the market (`ChangeAlreadyQueued`); the bounds of
///   `create_market`.
/// * Effects: `eta = now +` the pool's governance delay (cooldown + withdraw
///   window + 1 day, the longer of the pool's current and queued timing).
/// * Emits `ChangeQueued`.
pub fn queue_market_params_handler(ctx: Context<MarketAuthority>, change: MarketParamsChange) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market = &mut ctx.accounts.market;
    require!(market.status != MarketStatus::Closed, ErrorCode::MarketClosed);
    require!(market.pending_change_eta == 0, ErrorCode::ChangeAlreadyQueued);
    validate_sale_params(
        &change.curve,
        change.allocation_bps,
        change.activation_delay,
        market.max_price_age,
    )?;
    let eta = now
        .checked_add(ctx.accounts.pool.governance_delay()?)
        .ok_or(ErrorCode::MathOverflow)?;
    market.pending_change = Some(change);
    market.pending_change_eta = eta;
    emit!(ChangeQueued {
        pool: ctx.accounts.pool.key(),
        market: market.key(),
        eta
    });
    Ok(())
}

/// `cancel_market_params` — the authority drops a market's queued change.
///
/// * Checks: a change is queued (`NoPendingChange`).
/// * Emits `ChangeCancelled`.
pub fn cancel_market_params_handler(ctx: Context<MarketAuthority>) -> Result<()> {
    let market = &mut ctx.accounts.market;
    require!(market.pending_change_eta != 0, ErrorCode::NoPendingChange);
    market.pending_change = None;
    market.pending_change_eta = 0;
    emit!(ChangeCancelled {
        pool: ctx.accounts.pool.key(),
        market: market.key()
    });
    Ok(())
}

/// Anyone applies a due market change.
#[derive(Accounts)]
pub struct ApplyMarketParams<'info> {
    #[account(mut)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool)]
    pub market: Box<Account<'info, Market>>,
}

/// `apply_market_params` — permissionless, once the delay has passed.
///
/// * Checks: a change is queued (`NoPendingChange`) and due
///   (`ChangeNotReady`); the market is not closed (`MarketClosed`: a market
///   closed while its change waited keeps its last terms and no allocation);
///   all allocations, this one's new value included, stay within the pool's
///   leverage (`InvalidAllocation`).
/// * Emits `ChangeApplied`.
pub fn apply_market_params_handler(ctx: Context<ApplyMarketParams>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market = &mut ctx.accounts.market;
    let pool = &mut ctx.accounts.pool;
    let Some(c) = market.pending_change else {
        return err!(ErrorCode::NoPendingChange);
    };
    require!(now >= market.pending_change_eta, ErrorCode::ChangeNotReady);
    require!(market.status != MarketStatus::Closed, ErrorCode::MarketClosed);
    pool.reallocate(market.allocation_bps, c.allocation_bps)?;
    market.curve = c.curve;
    market.allocation_bps = c.allocation_bps;
    market.activation_delay = c.activation_delay;
    market.pending_change = None;
    market.pending_change_eta = 0;
    emit!(ChangeApplied {
        pool: pool.key(),
        market: market.key()
    });
    Ok(())
}

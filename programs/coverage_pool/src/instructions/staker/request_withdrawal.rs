use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use coverage_core::shares::assets_for_shares;

use crate::constants::*;
use crate::error::{CoreResultExt, ErrorCode};
use crate::events::WithdrawalRequested;
use crate::state::{Pool, PremiumLedger, WithdrawalRequest};
use crate::token_ops::transfer_from_signer;

/// `request_withdrawal(tranche, shares)` — locks shares for redemption after
/// the cooldown (PROTOCOL.md 3.1).
///
/// * Caller: the staker (signs for `staker_shares`, pays the request's rent).
/// * Checks: `tranche` exists and `share_mint`/`share_escrow` are its own
///   (`InvalidTranche`); `staker_shares` holds the share mint and belongs to
///   the staker; `shares > 0` for a new request (`ZeroAmount`). One request per
///   staker per tranche: while one is open and not lapsed, another is refused
///   (`WithdrawalAlreadyRequested`). A *lapsed* request is renewed: its locked
///   shares plus `shares` (may be 0) are revalued now and the cooldown restarts.
/// * Effects: first earns the premium due; `shares` move into the tranche's escrow (still in the supply, so
///   they bear every loss); the request records their value now (rounded down)
///   and the pool's cooldown and window now: a parameter change applied while
///   it waits does not re-time it (PROTOCOL.md 3.6).
/// * Emits `WithdrawalRequested`.
#[derive(Accounts)]
#[instruction(tranche: u8)]
pub struct RequestWithdrawal<'info> {
    #[account(mut)]
    pub staker: Signer<'info>,
    #[account(mut, constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, address = pool.ledger @ ErrorCode::WrongPool)]
    pub ledger: AccountLoader<'info, PremiumLedger>,
    #[account(constraint = pool.share_mint_of(tranche) == Some(share_mint.key()) @ ErrorCode::InvalidTranche)]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        constraint = staker_shares.mint == share_mint.key() @ ErrorCode::WrongMint,
        constraint = staker_shares.owner == staker.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub staker_shares: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = pool.share_escrow_of(tranche) == Some(share_escrow.key()) @ ErrorCode::InvalidTranche,
    )]
    pub share_escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        init_if_needed,
        payer = staker,
        space = 8 + WithdrawalRequest::INIT_SPACE,
        seeds = [WITHDRAWAL_SEED, pool.key().as_ref(), &[tranche], staker.key().as_ref()],
        bump,
    )]
    pub request: Box<Account<'info, WithdrawalRequest>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn request_withdrawal_handler(ctx: Context<RequestWithdrawal>, tranche: u8, shares: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts
        .pool
        .accrue_premium(&mut *ctx.accounts.ledger.load_mut()?, now)?;
    let pool = &ctx.accounts.pool;
    let t = pool.tranche(tranche)?;
    let timing = pool.withdrawal_timing();
    let request = &ctx.accounts.request;
    let renewing = request.shares > 0;
    if renewing {
        // (an open request lapses on the timing it was made under)
        require!(
            now > request.timing().lapses_at(request.requested_at).or_named()?,
            ErrorCode::WithdrawalAlreadyRequested
        );
    } else {
        require!(shares > 0, ErrorCode::ZeroAmount);
    }
    let locked = request.shares.checked_add(shares).ok_or(ErrorCode::MathOverflow)?;
    let total_shares = ctx
        .accounts
        .share_mint
        .supply
        .checked_add(t.dead_shares)
        .ok_or(ErrorCode::MathOverflow)?;
    let value_at_request = assets_for_shares(locked, t.assets, total_shares).or_named()?;

    if shares > 0 {
        transfer_from_signer(
            &ctx.accounts.token_program,
            &ctx.accounts.staker_shares,
            &ctx.accounts.share_escrow,
            &ctx.accounts.share_mint,
            &ctx.accounts.staker,
            shares,
        )?;
    }

    let (pool_cooldown, pool_window) = (ctx.accounts.pool.cooldown, ctx.accounts.pool.withdraw_window);
    let request = &mut ctx.accounts.request;
    request.version = ACCOUNT_VERSION;
    request.bump = ctx.bumps.request;
    request.tranche = tranche;
    request.pool = ctx.accounts.pool.key();
    request.staker = ctx.accounts.staker.key();
    request.shares = locked;
    request.value_at_request = value_at_request;
    request.requested_at = now;
    request.cooldown = pool_cooldown;
    request.withdraw_window = pool_window;
    emit!(WithdrawalRequested {
        pool: request.pool,
        tranche,
        staker: request.staker,
        shares: locked,
        value_at_request,
        redeemable_from: timing.opens_at(now).or_named()?,
        lapses_at: timing.lapses_at(now).or_named()?,
    });
    Ok(())
}

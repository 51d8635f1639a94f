use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::error::ErrorCode;
use crate::events::WithdrawalCancelled;
use crate::state::{Pool, WithdrawalRequest};
use crate::token_ops::transfer_from_pool;

/// `cancel_withdrawal(tranche)` — returns a request's locked shares to the
/// staker and closes the request (rent back to the staker). Allowed at any
/// time, paused or not; the shares bore every loss while locked.
///
/// * Caller: the request's staker (`NotRequestOwner` for anyone else).
/// * Checks: the request is this pool's (`WrongPool`) and this tranche's
///   (`InvalidTranche`); escrow and share mint are the tranche's;
///   `staker_shares` holds the share mint and belongs to the staker.
/// * Emits `WithdrawalCancelled`.
#[derive(Accounts)]
#[instruction(tranche: u8)]
pub struct CancelWithdrawal<'info> {
    #[account(mut)]
    pub staker: Signer<'info>,
    #[account(constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(
        mut,
        close = staker,
        has_one = staker @ ErrorCode::NotRequestOwner,
        has_one = pool @ ErrorCode::WrongPool,
        constraint = request.tranche == tranche @ ErrorCode::InvalidTranche,
    )]
    pub request: Box<Account<'info, WithdrawalRequest>>,
    #[account(constraint = pool.share_mint_of(tranche) == Some(share_mint.key()) @ ErrorCode::InvalidTranche)]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        constraint = pool.share_escrow_of(tranche) == Some(share_escrow.key()) @ ErrorCode::InvalidTranche,
    )]
    pub share_escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = staker_shares.mint == share_mint.key() @ ErrorCode::WrongMint,
        constraint = staker_shares.owner == staker.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub staker_shares: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn cancel_withdrawal_handler(ctx: Context<CancelWithdrawal>, tranche: u8) -> Result<()> {
    let shares = ctx.accounts.request.shares;
    transfer_from_pool(
        &ctx.accounts.pool,
        &ctx.accounts.token_program,
        &ctx.accounts.share_escrow,
        &ctx.accounts.staker_shares,
        &ctx.accounts.share_mint,
        shares,
    )?;
    emit!(WithdrawalCancelled {
        pool: ctx.accounts.pool.key(),
        tranche,
        staker: ctx.accounts.staker.key(),
        shares,
    });
    Ok(())
}

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::constants::*;
use crate::error::ErrorCode;
use crate::events::TrancheInitialized;
use crate::state::Pool;

/// `initialize_tranche(tranche)` — creates a configured tranche's share mint
/// and share escrow.
///
/// * Caller: anyone (`payer` pays rent); the tranche's parameters were fixed
///   by `initialize_pool`, so this only materializes them.
/// * Checks: `tranche` is the next uninitialized index (`TrancheOutOfOrder`,
///   `TrancheAlreadyInitialized`, `InvalidTranche`); the collateral mint and
///   token program are the pool's.
/// * Creates: share mint `[SHARE_MINT_SEED, pool, tranche]` (decimals of the
///   collateral, mint authority the pool, no freeze authority) and share escrow
///   `[SHARE_ESCROW_SEED, pool, tranche]` (authority the pool).
/// * Emits `TrancheInitialized`.
#[derive(Accounts)]
#[instruction(tranche: u8)]
pub struct InitializeTranche<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(
        mut,
        has_one = collateral_mint @ ErrorCode::WrongMint,
        constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram,
    )]
    pub pool: Box<Account<'info, Pool>>,
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = payer,
        seeds = [SHARE_MINT_SEED, pool.key().as_ref(), &[tranche]],
        bump,
        mint::decimals = collateral_mint.decimals,
        mint::authority = pool,
        mint::token_program = token_program,
    )]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = payer,
        seeds = [SHARE_ESCROW_SEED, pool.key().as_ref(), &[tranche]],
        bump,
        token::mint = share_mint,
        token::authority = pool,
        token::token_program = token_program,
    )]
    pub share_escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn initialize_tranche_handler(ctx: Context<InitializeTranche>, tranche: u8) -> Result<()> {
    let pool = &mut ctx.accounts.pool;
    require!(tranche < pool.tranche_count, ErrorCode::InvalidTranche);
    require!(
        tranche >= pool.tranches_initialized,
        ErrorCode::TrancheAlreadyInitialized
    );
    require!(tranche == pool.tranches_initialized, ErrorCode::TrancheOutOfOrder);
    let t = pool.tranche_mut(tranche)?;
    t.share_mint = ctx.accounts.share_mint.key();
    t.share_escrow = ctx.accounts.share_escrow.key();
    t.share_mint_bump = ctx.bumps.share_mint;
    t.share_escrow_bump = ctx.bumps.share_escrow;
    pool.tranches_initialized += 1;
    emit!(TrancheInitialized {
        pool: pool.key(),
        tranche,
        share_mint: ctx.accounts.share_mint.key(),
    });
    Ok(())
}

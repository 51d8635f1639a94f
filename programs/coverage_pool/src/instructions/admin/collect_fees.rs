use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::error::ErrorCode;
use crate::events::FeesCollected;
use crate::state::Pool;
use crate::token_ops::transfer_from_pool;

/// `collect_fees` — the pool authority sends the protocol fees owed to the
/// pool's treasury.
///
/// * Caller: the pool authority (`Unauthorized`).
/// * Checks: treasury, vault, mint and token program are the pool's; there
///   are fees owed (`NoFeesOwed`).
/// * Effects: `fees_owed` moves from the vault to the treasury and is zeroed.
/// * Emits `FeesCollected`.
#[derive(Accounts)]
pub struct CollectFees<'info> {
    pub authority: Signer<'info>,
    #[account(
        mut,
        has_one = authority @ ErrorCode::Unauthorized,
        has_one = vault @ ErrorCode::WrongPool,
        has_one = treasury @ ErrorCode::InvalidTreasury,
        has_one = collateral_mint @ ErrorCode::WrongMint,
        constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram,
    )]
    pub pool: Box<Account<'info, Pool>>,
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn collect_fees_handler(ctx: Context<CollectFees>) -> Result<()> {
    let amount = ctx.accounts.pool.fees_owed;
    require!(amount > 0, ErrorCode::NoFeesOwed);
    transfer_from_pool(
        &ctx.accounts.pool,
        &ctx.accounts.token_program,
        &ctx.accounts.vault,
        &ctx.accounts.treasury,
        &ctx.accounts.collateral_mint,
        amount,
    )?;
    ctx.accounts.pool.fees_owed = 0;
    emit!(FeesCollected {
        pool: ctx.accounts.pool.key(),
        treasury: ctx.accounts.pool.treasury,
        amount
    });
    Ok(())
}

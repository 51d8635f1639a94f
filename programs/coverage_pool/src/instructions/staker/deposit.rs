use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use coverage_core::shares::shares_for_deposit;

use crate::error::{CoreResultExt, ErrorCode};
use crate::events::Deposited;
use crate::state::{Pool, PremiumLedger};
use crate::token_ops::{mint_shares, transfer_from_signer};

/// `deposit(tranche, amount, min_shares)` — a staker puts collateral into a
/// tranche and receives its shares.
///
/// * Caller: the staker (signs for `staker_collateral`).
/// * Checks: pool ready and not paused; `tranche` exists and `share_mint` is
///   its mint (`InvalidTranche`); vault, collateral mint and token program are
///   the pool's; `staker_collateral` holds the collateral mint and belongs to
///   the staker; `staker_shares` holds the share mint (any owner: deposit for
///   someone else is allowed). `amount > 0` (`ZeroAmount`); at least one share
///   (`ZeroShares`); at least `min_shares` (`SlippageExceeded`); the tranche
///   is not wiped out (`TrancheWipedOut`); no triggered market's reserve is
///   waiting to be released (`ReservePendingRelease`: what comes back belongs
///   to the stakers who bore the reserve, so nobody may buy in just before a
///   release — the keeper settles and releases in the pass that saw the
///   trigger, so this is minutes unless claims go unsettled).
/// * Effects: first earns the premium due (the share price is current);
///   shares = amount × total shares / tranche assets, rounded down
///   (the first deposit is 1:1 and locks `DEAD_SHARES`); `amount` moves to the
///   vault; shares are minted; tranche assets grow by `amount`.
/// * Emits `Deposited`.
#[derive(Accounts)]
#[instruction(tranche: u8)]
pub struct Deposit<'info> {
    pub staker: Signer<'info>,
    #[account(
        mut,
        has_one = vault @ ErrorCode::WrongPool,
        has_one = collateral_mint @ ErrorCode::WrongMint,
        constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram,
    )]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, address = pool.ledger @ ErrorCode::WrongPool)]
    pub ledger: AccountLoader<'info, PremiumLedger>,
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = staker_collateral.mint == collateral_mint.key() @ ErrorCode::WrongMint,
        constraint = staker_collateral.owner == staker.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub staker_collateral: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = pool.share_mint_of(tranche) == Some(share_mint.key()) @ ErrorCode::InvalidTranche,
    )]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        constraint = staker_shares.mint == share_mint.key() @ ErrorCode::WrongMint,
    )]
    pub staker_shares: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn deposit_handler(ctx: Context<Deposit>, tranche: u8, amount: u64, min_shares: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts
        .pool
        .accrue_premium(&mut *ctx.accounts.ledger.load_mut()?, now)?;
    let pool = &ctx.accounts.pool;
    require!(pool.is_ready(), ErrorCode::PoolNotReady);
    require!(!pool.paused, ErrorCode::PoolPaused);
    require!(pool.reserves_total == 0, ErrorCode::ReservePendingRelease);
    let t = pool.tranche(tranche)?;
    let total_shares = ctx
        .accounts
        .share_mint
        .supply
        .checked_add(t.dead_shares)
        .ok_or(ErrorCode::MathOverflow)?;
    let minted = shares_for_deposit(amount, t.assets, total_shares).or_named()?;
    require!(minted.shares >= min_shares, ErrorCode::SlippageExceeded);

    transfer_from_signer(
        &ctx.accounts.token_program,
        &ctx.accounts.staker_collateral,
        &ctx.accounts.vault,
        &ctx.accounts.collateral_mint,
        &ctx.accounts.staker,
        amount,
    )?;
    mint_shares(
        &ctx.accounts.pool,
        &ctx.accounts.token_program,
        &ctx.accounts.share_mint,
        &ctx.accounts.staker_shares,
        minted.shares,
    )?;

    let pool = &mut ctx.accounts.pool;
    let t = pool.tranche_mut(tranche)?;
    t.assets = t.assets.checked_add(amount).ok_or(ErrorCode::MathOverflow)?;
    t.dead_shares = t
        .dead_shares
        .checked_add(minted.dead_shares)
        .ok_or(ErrorCode::MathOverflow)?;
    let tranche_assets = t.assets;
    emit!(Deposited {
        pool: pool.key(),
        tranche,
        staker: ctx.accounts.staker.key(),
        amount,
        shares: minted.shares,
        tranche_assets,
    });
    Ok(())
}

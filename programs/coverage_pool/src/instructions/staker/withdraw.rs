use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use coverage_core::policy::claimable_cover_day;
use coverage_core::staking::{check_capital_after_withdrawal, redemption_value};

use crate::error::{CoreResultExt, ErrorCode};
use crate::events::Withdrawn;
use crate::oracle::read_observation;
use crate::state::{CoverBook, Market, MarketStatus, Pool, PremiumLedger, WithdrawalRequest};
use crate::token_ops::{burn_escrowed_shares, transfer_from_pool};

/// `withdraw(tranche)` — redeems a withdrawal request (PROTOCOL.md 3.1).
///
/// * Caller: the request's staker (`NotRequestOwner` for anyone else). Never
///   blocked by a pause.
/// * Remaining accounts: for each market of the pool, in market order, the
///   triple (market, its cover book, a price update of its feed — e.g. the
///   feed's push account), read-only (`WrongMarketBooks` when a market or
///   book is not the pool's one at that index, or one is missing).
/// * Checks: the request is this pool's and tranche's; the cooldown it was
///   made under has elapsed (`CooldownNotElapsed`) and its window has not passed
///   (`WithdrawalRequestLapsed`); no market of the pool has an open depeg
///   streak (`StreakOpenInPool`: nobody leaves ahead of a claim that is
///   forming); every open, active market's price update passes the checks of
///   a sale — every oracle check, fresh, no older than the market's last
///   accepted observation, within its confidence bound — and shows
///   `price − conf ≥ strike` (`PriceBelowStrikeInPool`: nobody leaves in the
///   seconds between a depeg's print and its first report; the oracle errors
///   otherwise). Markets not open yet, triggered or closed carry no claim to
///   come and their price is not read. The redemption leaves pool capital at
///   or above its required capital (`RequiredCapitalBreached`, PROTOCOL.md
///   3.3), from every market's cover book, counting the cover a streak not
///   yet reported could still find in force; vault, collateral mint, share
///   mint, escrow and token program are the pool's; `staker_collateral`
///   holds the collateral mint.
/// * Effects: first earns the premium due; pays the lower of the shares' value at request and now (both
///   rounded down), burns the shares, lowers the tranche's assets by the
///   payout, closes the request (rent to the staker). Whatever the shares
///   gained while waiting stays with the tranche.
/// * Emits `Withdrawn`.
#[derive(Accounts)]
#[instruction(tranche: u8)]
pub struct Withdraw<'info> {
    #[account(mut)]
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
    #[account(
        mut,
        close = staker,
        has_one = staker @ ErrorCode::NotRequestOwner,
        has_one = pool @ ErrorCode::WrongPool,
        constraint = request.tranche == tranche @ ErrorCode::InvalidTranche,
    )]
    pub request: Box<Account<'info, WithdrawalRequest>>,
    #[account(
        mut,
        constraint = pool.share_mint_of(tranche) == Some(share_mint.key()) @ ErrorCode::InvalidTranche,
    )]
    pub share_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        constraint = pool.share_escrow_of(tranche) == Some(share_escrow.key()) @ ErrorCode::InvalidTranche,
    )]
    pub share_escrow: Box<InterfaceAccount<'info, TokenAccount>>,
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = staker_collateral.mint == collateral_mint.key() @ ErrorCode::WrongMint,
    )]
    pub staker_collateral: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn withdraw_handler<'info>(ctx: Context<'info, Withdraw<'info>>, tranche: u8) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts
        .pool
        .accrue_premium(&mut *ctx.accounts.ledger.load_mut()?, now)?;
    let pool = &ctx.accounts.pool;
    let request = &ctx.accounts.request;
    request
        .timing()
        .check_redeemable(request.requested_at, now)
        .or_named()?;
    require!(pool.open_streaks == 0, ErrorCode::StreakOpenInPool);
    let t = pool.tranche(tranche)?;
    let total_shares = ctx
        .accounts
        .share_mint
        .supply
        .checked_add(t.dead_shares)
        .ok_or(ErrorCode::MathOverflow)?;
    let payout = redemption_value(request.shares, request.value_at_request, t.assets, total_shares).or_named()?;
    let required = check_markets(pool, &pool.key(), ctx.remaining_accounts, now)?;
    check_capital_after_withdrawal(pool.capital()?, payout, required).or_named()?;

    let shares = request.shares;
    burn_escrowed_shares(
        &ctx.accounts.pool,
        &ctx.accounts.token_program,
        &ctx.accounts.share_mint,
        &ctx.accounts.share_escrow,
        shares,
    )?;
    if payout > 0 {
        transfer_from_pool(
            &ctx.accounts.pool,
            &ctx.accounts.token_program,
            &ctx.accounts.vault,
            &ctx.accounts.staker_collateral,
            &ctx.accounts.collateral_mint,
            payout,
        )?;
    }
    let pool = &mut ctx.accounts.pool;
    let t = pool.tranche_mut(tranche)?;
    t.assets = t.assets.checked_sub(payout).ok_or(ErrorCode::MathOverflow)?;
    let tranche_assets = t.assets;
    emit!(Withdrawn {
        pool: pool.key(),
        tranche,
        staker: ctx.accounts.staker.key(),
        shares,
        amount: payout,
        tranche_assets,
    });
    Ok(())
}

/// Reads every market of the pool from the remaining accounts (triples of
/// market, book, price update, in market order): refuses while an open,
/// active market's price shows its strike breached, and returns the pool's
/// required capital from the books.
fn check_markets<'info>(
    pool: &Pool,
    pool_key: &Pubkey,
    accounts: &'info [AccountInfo<'info>],
    now: i64,
) -> Result<u64> {
    require!(
        accounts.len() == 3 * pool.market_count as usize,
        ErrorCode::WrongMarketBooks
    );
    let mut active = [0u64; crate::constants::MAX_MARKETS as usize];
    for (i, triple) in accounts.chunks(3).enumerate() {
        active[i] = check_market(pool_key, i, triple, now)?;
    }
    pool.required_capital(active.iter().copied().take(pool.market_count as usize))
}

/// Market `index` of [`check_markets`]: checks its price when it is open and
/// active, and returns the cover its book must still back — cover a streak
/// not yet reported could find in force (core `policy::claimable_cover_day`:
/// cover that ended at midnight counts until a price published after it is
/// reported or `max_price_age` has passed), not only today's. In its own
/// frame, so the market account is decoded off the caller's loop (SBF stack
/// frames are 4 KiB).
#[inline(never)]
fn check_market<'info>(pool_key: &Pubkey, index: usize, triple: &'info [AccountInfo<'info>], now: i64) -> Result<u64> {
    let market = Account::<Market>::try_from(&triple[0]).map_err(|_| error!(ErrorCode::WrongMarketBooks))?;
    require!(
        market.pool == *pool_key && market.index as usize == index && market.book == triple[1].key(),
        ErrorCode::WrongMarketBooks
    );
    let loader = AccountLoader::<CoverBook>::try_from(&triple[1]).map_err(|_| error!(ErrorCode::WrongMarketBooks))?;
    let day = claimable_cover_day(market.last_publish_time, i64::from(market.max_price_age), now);
    let active = loader.load()?.active_cover_on(day)?;
    check_withdraw_price(&market, &triple[2], now)?;
    Ok(active)
}

/// The price check `withdraw` makes of each market: an open, active market
/// needs a healthy price in `price_update` (the checks `buy_cover` makes of
/// it), a breached strike being `PriceBelowStrikeInPool`; any other market
/// passes. Public so that a client's port (the TypeScript client's
/// `withdrawPriceRefusal`) is held to it by golden vectors.
pub fn check_withdraw_price(market: &Market, price_update: &AccountInfo, now: i64) -> Result<()> {
    if market.status != MarketStatus::Active || !market.is_open(now) {
        return Ok(());
    }
    let obs = read_observation(price_update, &market.feed_id)?;
    market
        .trigger_terms()
        .check_healthy_price(market.last_publish_time, &obs, now)
        .map_err(|e| match e {
            coverage_core::CoreError::PriceBelowStrike => error!(ErrorCode::PriceBelowStrikeInPool),
            other => error!(ErrorCode::from(other)),
        })
}

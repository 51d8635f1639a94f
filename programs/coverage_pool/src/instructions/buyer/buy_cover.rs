use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use coverage_core::math::mul_div_floor;
use coverage_core::policy::policy_term;
use coverage_core::BPS;

use crate::constants::*;
use crate::error::{CoreResultExt, ErrorCode};
use crate::events::CoverPurchased;
use crate::oracle::read_observation;
use crate::state::{CoverBook, Market, MarketStatus, Policy, PolicyStatus, Pool, PremiumLedger};
use crate::token_ops::transfer_from_signer;

/// `buy_cover(amount, days, max_premium)` — buys `amount` of cover on a
/// market for `days` whole days (PROTOCOL.md 3.2, 3.3).
///
/// * Callers: `buyer` (the policy owner) and `payer` (pays the premium from
///   `payer_collateral` and the policy's rent) both sign; they may be the
///   same key, and either may be a PDA of another program signing through
///   `invoke_signed` (integrators: see the README's CPI section).
/// * Checks, each with its own error: pool not paused (`PoolPaused`); market
///   of this pool (`WrongPool`), not paused (`MarketPaused`), not closed
///   (`MarketClosed`), not triggered (`MarketAlreadyTriggered`), no open
///   streak (`SalesStoppedStreakOpen`), open (`MarketNotOpen` before
///   `sales_open_at`); a fresh price of the market's feed in `price_update`:
///   every oracle check of `check_trigger`, no older than the market's last
///   accepted observation (`StalePrice`), and `price − conf ≥ strike`
///   (`PriceBelowStrike`) — the core's `TriggerTerms::check_healthy_price`; `days` in 1..=365
///   (`InvalidCoverTerm`); `amount` at least one whole collateral token
///   (`InvalidCoverAmount`); active cover + `amount` within the market's
///   capacity = pool capital × allocation (`CapacityExceeded`); premium
///   (core `pricing::Curve::premium`, rounded up) at most `max_premium`
///   (`PremiumAboveMax`).
/// * Effects: earns the premium due first (capital is current); moves the
///   premium to the vault; the protocol fee (rounded down) is owed to the
///   treasury, the rest streams to the tranches over the term; the cover is
///   booked by expiry day and activation minute (cover that ended more than
///   `max_price_age` ago is expired first); creates the `Policy`
///   `[POLICY_SEED, market, id]`: active from `now + activation_delay`
///   (rounded up to the minute) to 00:00 UTC `days` days after activation day.
/// * Emits `CoverPurchased`.
#[derive(Accounts)]
pub struct BuyCover<'info> {
    pub buyer: Signer<'info>,
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(
        mut,
        has_one = vault @ ErrorCode::WrongPool,
        has_one = collateral_mint @ ErrorCode::WrongMint,
        has_one = ledger @ ErrorCode::WrongPool,
        constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram,
    )]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut)]
    pub ledger: AccountLoader<'info, PremiumLedger>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool, has_one = book @ ErrorCode::WrongMarket)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut)]
    pub book: AccountLoader<'info, CoverBook>,
    #[account(
        init,
        payer = payer,
        space = 8 + Policy::INIT_SPACE,
        seeds = [POLICY_SEED, market.key().as_ref(), &market.policy_count.to_le_bytes()],
        bump,
    )]
    pub policy: Box<Account<'info, Policy>>,
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        mut,
        constraint = payer_collateral.mint == collateral_mint.key() @ ErrorCode::WrongMint,
        constraint = payer_collateral.owner == payer.key() @ ErrorCode::WrongTokenOwner,
    )]
    pub payer_collateral: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: validated in `oracle::read_observation` (owner, type, verification, feed).
    pub price_update: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl BuyCover<'_> {
    /// The market and oracle checks (state only read).
    fn validate(&self, now: i64) -> Result<()> {
        check_sale(&self.pool, &self.market, &self.price_update, now)
    }
}

/// Whether `market` of `pool` sells cover at `now` with the price in
/// `price_update`: the checks `buy_cover` makes before it looks at the amount,
/// in its order, each with its own error (see [`BuyCover`]). Public so that a
/// client's port of it (the TypeScript client's `saleRefusal`) is held to it by
/// golden vectors.
pub fn check_sale(pool: &Pool, market: &Market, price_update: &AccountInfo, now: i64) -> Result<()> {
    require!(!pool.paused, ErrorCode::PoolPaused);
    require!(!market.paused, ErrorCode::MarketPaused);
    match market.status {
        MarketStatus::Active => {}
        MarketStatus::StreakOpen => return err!(ErrorCode::SalesStoppedStreakOpen),
        MarketStatus::Triggered => return err!(ErrorCode::MarketAlreadyTriggered),
        MarketStatus::Closed => return err!(ErrorCode::MarketClosed),
    }
    require!(market.is_open(now), ErrorCode::MarketNotOpen);
    let obs = read_observation(price_update, &market.feed_id)?;
    market
        .trigger_terms()
        .check_healthy_price(market.last_publish_time, &obs, now)
        .or_named()
}

pub fn buy_cover_handler(ctx: Context<BuyCover>, amount: u64, days: u16, max_premium: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.validate(now)?;
    let term = policy_term(now, i64::from(ctx.accounts.market.activation_delay), u64::from(days)).or_named()?;
    let min_amount = 10u64
        .checked_pow(u32::from(ctx.accounts.pool.collateral_decimals))
        .ok_or(ErrorCode::MathOverflow)?;
    require!(amount >= min_amount, ErrorCode::InvalidCoverAmount);

    // capital is current, then the market's capacity and active cover
    let pool = &mut ctx.accounts.pool;
    pool.accrue_premium(&mut *ctx.accounts.ledger.load_mut()?, now)?;
    let capacity = mul_div_floor(pool.capital()?, u64::from(ctx.accounts.market.allocation_bps), BPS).or_named()?;
    let premium = {
        let mut book = ctx.accounts.book.load_mut()?;
        let mut view = book.view();
        // (cover a streak still to be reported may need stays on the book,
        // counting against capacity meanwhile)
        view.expire_for_sale(now, i64::from(ctx.accounts.market.max_price_age))
            .or_named()?;
        let active = *view.active_cover;
        let premium = ctx
            .accounts
            .market
            .pricing_curve()
            .premium(amount, u64::from(days), active, capacity)
            .or_named()?;
        require!(premium <= max_premium, ErrorCode::PremiumAboveMax);
        view.add(amount, term.activation_time, term.end_time).or_named()?;
        premium
    };
    let fee = mul_div_floor(premium, u64::from(ctx.accounts.pool.protocol_fee_bps), BPS).or_named()?;
    ctx.accounts
        .ledger
        .load_mut()?
        .view()
        .add(premium - fee, now, term.end_time)
        .or_named()?;

    transfer_from_signer(
        &ctx.accounts.token_program,
        &ctx.accounts.payer_collateral,
        &ctx.accounts.vault,
        &ctx.accounts.collateral_mint,
        &ctx.accounts.payer,
        premium,
    )?;

    let pool = &mut ctx.accounts.pool;
    pool.fees_owed = pool.fees_owed.checked_add(fee).ok_or(ErrorCode::MathOverflow)?;
    pool.premiums_paid = pool.premiums_paid.checked_add(premium).ok_or(ErrorCode::MathOverflow)?;
    let market = &mut ctx.accounts.market;
    let id = market.policy_count;
    market.policy_count = id.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    market.cover_sold = market.cover_sold.checked_add(amount).ok_or(ErrorCode::MathOverflow)?;
    let policy = &mut ctx.accounts.policy;
    policy.set_inner(Policy {
        version: ACCOUNT_VERSION,
        bump: ctx.bumps.policy,
        status: PolicyStatus::Active,
        market: market.key(),
        owner: ctx.accounts.buyer.key(),
        id,
        epoch: market.epoch,
        amount,
        premium,
        purchased_at: now,
        activation_time: term.activation_time,
        end_time: term.end_time,
        payout: 0,
    });
    emit!(CoverPurchased {
        policy: policy.key(),
        market: market.key(),
        owner: policy.owner,
        amount,
        days,
        premium,
        fee,
        activation_time: term.activation_time,
        end_time: term.end_time,
    });
    Ok(())
}

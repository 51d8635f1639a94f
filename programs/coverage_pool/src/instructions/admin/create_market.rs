use anchor_lang::prelude::*;

use crate::constants::*;
use crate::error::ErrorCode;
use crate::events::MarketCreated;
use crate::state::{CoverBook, Market, MarketStatus, PayoutShape, Pool, PricingCurve, Settlement, TriggerEvent};

/// Terms of a new market. Prices in price units (1e-8 USD). Trigger terms
/// (feed, strike, recovery, duration, max gap, max price age, max confidence,
/// payout shape) are immutable once created.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateMarketArgs {
    /// Pyth feed id (e.g. USDC/USD) the market observes.
    pub feed_id: [u8; 32],
    /// A streak opens when `price + conf < strike`.
    pub strike: u64,
    /// An open streak closes when `price ≥ recovery` (`strike ≤ recovery ≤ 2 × strike`).
    pub recovery: u64,
    /// Seconds a streak must last to trigger.
    pub duration: u32,
    /// Longest silence between accepted observations before a streak is dropped, seconds.
    pub max_gap: u32,
    /// Oldest accepted price against the clock, seconds.
    pub max_price_age: u32,
    /// Widest accepted confidence interval, bps of price.
    pub max_conf_bps: u16,
    /// Payout shape.
    pub payout: PayoutShape,
    /// Pricing curve of the annual premium rate.
    pub curve: PricingCurve,
    /// Capacity allocation, bps of pool capital.
    pub allocation_bps: u32,
    /// Seconds between a purchase and the start of its cover (> max price age).
    pub activation_delay: u32,
}

impl CreateMarketArgs {
    /// Checks every term against its documented bound (constants.rs).
    pub fn validate(&self) -> Result<()> {
        // a recovery far above the strike could keep a streak from ever closing
        require!(
            self.strike > 0
                && self.recovery >= self.strike
                && u128::from(self.recovery) <= u128::from(self.strike) * u128::from(MAX_RECOVERY_OVER_STRIKE),
            ErrorCode::InvalidStrikeOrRecovery
        );
        require!(
            (MIN_TRIGGER_DURATION..=MAX_TRIGGER_DURATION).contains(&self.duration),
            ErrorCode::InvalidDuration
        );
        require!(
            (MIN_MAX_GAP..=MAX_MAX_GAP).contains(&self.max_gap),
            ErrorCode::InvalidMaxGap
        );
        require!(
            (MIN_MAX_PRICE_AGE..=MAX_MAX_PRICE_AGE).contains(&self.max_price_age),
            ErrorCode::InvalidMaxPriceAge
        );
        require!(
            (MIN_MAX_CONF_BPS..=MAX_MAX_CONF_BPS).contains(&self.max_conf_bps),
            ErrorCode::InvalidMaxConf
        );
        if let PayoutShape::Linear { floor_price } = self.payout {
            require!(
                floor_price > 0 && floor_price < self.strike,
                ErrorCode::InvalidPayoutShape
            );
        }
        validate_sale_params(
            &self.curve,
            self.allocation_bps,
            self.activation_delay,
            self.max_price_age,
        )
    }
}

/// The bounds of a market's sale parameters, shared by `create_market` and
/// `queue_market_params`.
pub fn validate_sale_params(
    curve: &PricingCurve,
    allocation_bps: u32,
    activation_delay: u32,
    max_price_age: u32,
) -> Result<()> {
    let top =
        u64::from(curve.base_rate_bps) + u64::from(curve.slope_below_kink_bps) + u64::from(curve.slope_above_kink_bps);
    require!(
        curve.base_rate_bps > 0
            && curve.kink_utilization_bps > 0
            && curve.kink_utilization_bps < 10_000
            && curve.slope_above_kink_bps >= curve.slope_below_kink_bps
            && top <= u64::from(MAX_ANNUAL_RATE_BPS),
        ErrorCode::InvalidPricingCurve
    );
    require!(
        allocation_bps > 0 && allocation_bps <= MAX_ALLOCATION_BPS,
        ErrorCode::InvalidAllocation
    );
    require!(
        activation_delay > max_price_age && activation_delay <= MAX_ACTIVATION_DELAY,
        ErrorCode::InvalidActivationDelay
    );
    Ok(())
}

/// `create_market(args)` — the pool authority opens a market.
///
/// * Caller: the pool authority (`Unauthorized` otherwise); `payer` pays rent.
/// * Checks: every term in bounds ([`CreateMarketArgs::validate`]); the pool
///   has fewer than `MAX_MARKETS` markets (`TooManyMarkets`); the pool's
///   allocations, this one included, stay within its max leverage
///   (`InvalidAllocation`).
/// * Creates: market PDA `[MARKET_SEED, pool, index]`, `index` = the pool's
///   market count, status `Active`, epoch 0; and its cover book `[BOOK_SEED, market]`.
///   Its allocation counts toward the pool's leverage at once, but it sells
///   nothing and takes no observation before `sales_open_at` = now + the
///   governance delay (cooldown + withdraw window + 1 day, PROTOCOL.md 3.6,
///   under the pool's current timing or its queued one, whichever is
///   longer): every term of a new market waits as long as a queued change,
///   so a staker who disagrees can request, wait the cooldown and leave first.
/// * Emits `MarketCreated`.
#[derive(Accounts)]
pub struct CreateMarket<'info> {
    pub authority: Signer<'info>,
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(mut, has_one = authority @ ErrorCode::Unauthorized)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(
        init,
        payer = payer,
        space = 8 + Market::INIT_SPACE,
        seeds = [MARKET_SEED, pool.key().as_ref(), &pool.market_count.to_le_bytes()],
        bump,
    )]
    pub market: Box<Account<'info, Market>>,
    #[account(
        init,
        payer = payer,
        space = 8 + core::mem::size_of::<CoverBook>(),
        seeds = [BOOK_SEED, market.key().as_ref()],
        bump,
    )]
    pub book: AccountLoader<'info, CoverBook>,
    pub system_program: Program<'info, System>,
}

pub fn create_market_handler(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
    args.validate()?;
    let pool = &mut ctx.accounts.pool;
    require!(pool.market_count < MAX_MARKETS, ErrorCode::TooManyMarkets);
    pool.reallocate(0, args.allocation_bps)?;

    let now = Clock::get()?.unix_timestamp;
    let sales_open_at = now
        .checked_add(pool.governance_delay()?)
        .ok_or(ErrorCode::MathOverflow)?;
    let market_key = ctx.accounts.market.key();
    {
        let mut book = ctx.accounts.book.load_init()?;
        book.market = market_key;
        book.pool = pool.key();
        book.index = pool.market_count;
        book.version = ACCOUNT_VERSION;
        book.bump = ctx.bumps.book;
        book.processed_day = coverage_core::policy::day_of(now);
    }
    let market = &mut ctx.accounts.market;
    market.set_inner(Market {
        version: ACCOUNT_VERSION,
        bump: ctx.bumps.market,
        paused: false,
        status: MarketStatus::Active,
        pool: pool.key(),
        book: ctx.accounts.book.key(),
        policy_count: 0,
        cover_sold: 0,
        index: pool.market_count,
        epoch: 0,
        feed_id: args.feed_id,
        strike: args.strike,
        recovery: args.recovery,
        duration: args.duration,
        max_gap: args.max_gap,
        max_price_age: args.max_price_age,
        max_conf_bps: args.max_conf_bps,
        payout: args.payout,
        curve: args.curve,
        allocation_bps: args.allocation_bps,
        activation_delay: args.activation_delay,
        last_publish_time: 0,
        last_price: 0,
        last_conf: 0,
        observations: 0,
        streak_start: 0,
        streak_low: 0,
        event: TriggerEvent::default(),
        settlement: Settlement::default(),
        pending_change: None,
        pending_change_eta: 0,
        sales_open_at,
        reserved: [0; 504],
    });
    pool.market_count += 1;
    emit!(MarketCreated {
        pool: pool.key(),
        market: market.key(),
        index: market.index,
        feed_id: market.feed_id,
        strike: market.strike,
        recovery: market.recovery,
        duration: market.duration,
        sales_open_at,
    });
    Ok(())
}

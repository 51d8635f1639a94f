use anchor_lang::prelude::*;
use coverage_core::policy::day_of;
use coverage_core::settlement::{haircut_bps, liability, payout_fraction, reserve_waterfall};
use coverage_core::trigger::observe;

use crate::constants::CLAIM_WINDOW;
use crate::error::{CoreResultExt, ErrorCode};
use crate::events::{MarketTriggered, ReserveSet, StreakClosed, StreakDropped, StreakOpened};
use crate::oracle::read_observation;
use crate::state::{CoverBook, Market, MarketStatus, Pool, PremiumLedger, Settlement, TriggerEvent};

/// `check_trigger` — a keeper submits one oracle observation to a market
/// (PROTOCOL.md 3.4). Permissionless; never blocked by a pause.
///
/// * Checks, each with its own error and no state change: the market is not
///   closed (`MarketClosed`) nor triggered in this epoch
///   (`MarketAlreadyTriggered`), and is open (`MarketNotOpen` before
///   `sales_open_at`: a market with no cover yet cannot open a streak that
///   would hold up redemptions); `pool` is the market's (`WrongPool`); the
///   price update is owned by the Pyth receiver (`OracleWrongOwner`), is a
///   `PriceUpdateV2` (`OracleInvalidAccount`), fully verified
///   (`OracleNotFullyVerified`), of the market's feed (`OracleWrongFeed`),
///   positive (`NonPositivePrice`) and representable
///   (`UnsupportedPriceExponent`, `PriceNotRepresentable`), no older than
///   `max_price_age` (`StalePrice`), within `max_conf_bps`
///   (`ConfidenceTooWide`), published after the last accepted observation
///   (`PublishTimeNotIncreasing`).
/// * Effects (core `trigger::observe`, rules 2–5): a gap over `max_gap` drops
///   an open streak; `price + conf < strike` opens one; `price ≥ recovery`
///   closes it; a streak lasting `duration` triggers the market, recording
///   the event (epoch, streak start, trigger time, lowest `price + conf`).
///   The pool counts markets with an open streak (redemptions wait on them).
/// * On trigger (PROTOCOL.md 3.5), in the same instruction: earns the premium
///   due, computes the cover in force at the streak's start from the cover
///   book (no policy is walked), the payout fraction (binary, or linear at
///   the streak's lowest `price + conf`) and the liability
///   `ceil(cover × fraction)`; reserves `min(liability, capital)` from the
///   tranches, junior first (share prices fall now, shares under withdrawal
///   request included); fixes the haircut `reserve / liability`; opens the
///   claim window; empties the book (the epoch's cover is settled, not
///   carried over).
/// * Emits `StreakDropped`, `StreakOpened`, `StreakClosed`, `MarketTriggered`,
///   `ReserveSet`.
#[derive(Accounts)]
pub struct CheckTrigger<'info> {
    #[account(mut, has_one = pool @ ErrorCode::WrongPool, has_one = book @ ErrorCode::WrongMarket)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, has_one = ledger @ ErrorCode::WrongPool)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut)]
    pub ledger: AccountLoader<'info, PremiumLedger>,
    #[account(mut)]
    pub book: AccountLoader<'info, CoverBook>,
    /// CHECK: validated in `oracle::read_observation` (owner, type, verification, feed).
    pub price_update: UncheckedAccount<'info>,
}

pub fn check_trigger_handler(ctx: Context<CheckTrigger>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market = &mut ctx.accounts.market;
    require!(market.status != MarketStatus::Closed, ErrorCode::MarketClosed);
    require!(
        market.status != MarketStatus::Triggered,
        ErrorCode::MarketAlreadyTriggered
    );
    require!(market.is_open(now), ErrorCode::MarketNotOpen);
    let obs = read_observation(&ctx.accounts.price_update, &market.feed_id)?;

    let was_open = market.streak_open();
    let previous = market.streak_state();
    let mut state = previous;
    let outcome = observe(&market.trigger_terms(), &mut state, &obs, now).or_named()?;

    let key = market.key();
    market.last_publish_time = state.last_publish_time;
    market.last_price = obs.price.price;
    market.last_conf = obs.price.conf;
    market.observations = market.observations.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    market.streak_start = state.streak_start;
    market.streak_low = state.streak_low;
    market.status = if state.triggered {
        MarketStatus::Triggered
    } else if state.streak_open {
        MarketStatus::StreakOpen
    } else {
        MarketStatus::Active
    };

    if outcome.dropped {
        emit!(StreakDropped {
            market: key,
            epoch: market.epoch,
            streak_start: previous.streak_start,
            last_publish_time: previous.last_publish_time,
            publish_time: obs.publish_time,
        });
    }
    if outcome.opened {
        emit!(StreakOpened {
            market: key,
            epoch: market.epoch,
            streak_start: state.streak_start,
            price_plus_conf: state.streak_low,
        });
    }
    if outcome.closed {
        emit!(StreakClosed {
            market: key,
            epoch: market.epoch,
            streak_start: previous.streak_start,
            closed_at: obs.publish_time,
            price: obs.price.price,
        });
    }
    if outcome.triggered {
        market.event = TriggerEvent {
            epoch: market.epoch,
            streak_start: state.streak_start,
            trigger_time: state.trigger_time,
            lowest_price: state.streak_low,
        };
        emit!(MarketTriggered {
            market: key,
            epoch: market.epoch,
            streak_start: state.streak_start,
            trigger_time: state.trigger_time,
            lowest_price: state.streak_low,
        });
        reserve_for_event(ctx.accounts, now)?;
    }

    let now_open = ctx.accounts.market.streak_open();
    let pool = &mut ctx.accounts.pool;
    if now_open && !was_open {
        pool.open_streaks = pool.open_streaks.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    } else if was_open && !now_open {
        pool.open_streaks = pool.open_streaks.checked_sub(1).ok_or(ErrorCode::MathOverflow)?;
    }
    Ok(())
}

/// The trigger's reserve: liability from the book, waterfall junior first.
fn reserve_for_event(accounts: &mut CheckTrigger, now: i64) -> Result<()> {
    let pool = &mut accounts.pool;
    pool.accrue_premium(&mut *accounts.ledger.load_mut()?, now)?;
    let market = &mut accounts.market;
    let mut book = accounts.book.load_mut()?;
    let mut view = book.view();
    let eligible_cover = view.cover_in_force_at(market.event.streak_start).or_named()?;
    view.clear(day_of(now));
    let fraction = payout_fraction(market.payout_shape(), market.strike, market.event.lowest_price).or_named()?;
    let owed = liability(eligible_cover, fraction).or_named()?;
    let mut assets = pool.tranche_assets();
    let n = pool.tranche_count as usize;
    let (taken, reserve) = reserve_waterfall(&mut assets[..n], owed).or_named()?;
    pool.set_tranche_assets(&assets);
    pool.reserves_total = pool
        .reserves_total
        .checked_add(reserve)
        .ok_or(ErrorCode::MathOverflow)?;
    market.settlement = Settlement {
        eligible_cover,
        liability: owed,
        reserve,
        reserve_left: reserve,
        paid: 0,
        settled_cover: 0,
        settled_policies: 0,
        fraction_num: fraction.num,
        fraction_den: fraction.den,
        taken,
        claim_deadline: now.checked_add(CLAIM_WINDOW).ok_or(ErrorCode::MathOverflow)?,
        released: false,
    };
    emit!(ReserveSet {
        market: market.key(),
        epoch: market.epoch,
        eligible_cover,
        liability: owed,
        reserve,
        haircut_bps: haircut_bps(reserve, owed).or_named()?,
        taken,
    });
    Ok(())
}

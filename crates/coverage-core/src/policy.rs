//! Policy timing (PROTOCOL.md 3.2, 3.5): cover is sold in whole days, starts
//! after the market's activation delay, ends at 00:00 UTC.

use crate::math::{CoreResult, SafeMath};
use crate::{CoreError, SECONDS_PER_DAY};

/// Longest term of a policy, days.
pub const MAX_TERM_DAYS: u64 = 365;
/// Activation times are whole minutes (so settlement can tell, exactly and
/// from aggregates, which cover was not yet active when a streak began).
pub const ACTIVATION_GRANULARITY: i64 = 60;

/// UTC day number of a unix time.
pub fn day_of(unix: i64) -> i64 {
    unix.div_euclid(SECONDS_PER_DAY)
}

/// The times of a policy bought at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyTerm {
    /// Cover starts: `now + activation_delay`, rounded up to the minute.
    pub activation_time: i64,
    /// Cover ends: 00:00 UTC, `days` days after the day of activation.
    pub end_time: i64,
}

/// Term of `days` of cover bought at `now` on a market with `activation_delay`.
/// The buyer pays for `days` days and is covered from activation to the
/// midnight `days` days after the activation day (between `days − 1` and
/// `days` days of cover, never more than paid for).
pub fn policy_term(now: i64, activation_delay: i64, days: u64) -> CoreResult<PolicyTerm> {
    if days == 0 || days > MAX_TERM_DAYS {
        return Err(CoreError::InvalidCoverTerm);
    }
    let raw = now.safe_add(activation_delay)?;
    let activation_time = raw
        .safe_add(ACTIVATION_GRANULARITY - 1)?
        .div_euclid(ACTIVATION_GRANULARITY)
        .safe_mul(ACTIVATION_GRANULARITY)?;
    let end_day = day_of(activation_time).safe_add(days as i64)?;
    Ok(PolicyTerm {
        activation_time,
        end_time: end_day.safe_mul(SECONDS_PER_DAY)?,
    })
}

/// PROTOCOL.md 3.5: a policy is eligible iff its cover was in force when the
/// streak began: `activation ≤ streak_start < end`.
pub fn is_eligible(activation_time: i64, end_time: i64, streak_start: i64) -> bool {
    activation_time <= streak_start && streak_start < end_time
}

/// Earliest publish time at which a streak that nobody has reported yet can
/// still start (PROTOCOL.md 3.4 rule 1): after the last accepted observation,
/// and no older than `max_price_age` against the clock.
pub fn earliest_unreported_streak_start(last_publish_time: i64, max_price_age: i64, now: i64) -> i64 {
    last_publish_time
        .saturating_add(1)
        .max(now.saturating_sub(max_price_age))
}

/// Where a policy's market stands, for the claims it may still pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketPhase {
    /// Observing, no streak open.
    Active,
    /// A depeg streak is open.
    StreakOpen,
    /// Triggered in its current epoch; `released`: the reserve went back.
    Triggered {
        /// The event's reserve was released (nothing more is paid).
        released: bool,
    },
    /// Closed by the authority.
    Closed,
}

/// What a market says about the claims a policy of it may still have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketClaims {
    /// The market's current epoch.
    pub epoch: u32,
    /// Its phase.
    pub phase: MarketPhase,
    /// Publish time of its last accepted observation.
    pub last_publish_time: i64,
    /// Its `max_price_age`, seconds.
    pub max_price_age: i64,
}

/// Whether an unsettled policy bought in `policy_epoch`, ending at
/// `end_time`, can still be paid: its epoch has not ended, and either its
/// market triggered and has not released the reserve, a streak is open, or a
/// streak not reported yet could still start before `end_time` (a keeper may
/// report a depeg up to `max_price_age` after it was published). An earlier
/// epoch ended with a released trigger; a closed market pays nothing more
/// (`close_market` waits until no claim can come).
pub fn policy_may_still_be_paid(policy_epoch: u32, end_time: i64, market: &MarketClaims, now: i64) -> bool {
    if policy_epoch != market.epoch {
        return false;
    }
    match market.phase {
        MarketPhase::StreakOpen => true,
        MarketPhase::Triggered { released } => !released,
        MarketPhase::Closed => false,
        MarketPhase::Active => {
            earliest_unreported_streak_start(market.last_publish_time, market.max_price_age, now) < end_time
        }
    }
}

/// Whether a policy may be closed for its rent (`close_policy`, the keeper):
/// settled, or ended and no longer payable ([`policy_may_still_be_paid`]).
/// Closing never destroys a claim.
pub fn policy_closable(settled: bool, policy_epoch: u32, end_time: i64, market: &MarketClaims, now: i64) -> bool {
    settled || (now >= end_time && !policy_may_still_be_paid(policy_epoch, end_time, market, now))
}

/// The day from which a market's cover book holds cover that a streak not
/// yet reported could find in force: cover ending after 00:00 of the day
/// after it (`CoverBook::active_cover_on(day)`). `close_market` waits until
/// the book holds none.
pub fn claimable_cover_day(last_publish_time: i64, max_price_age: i64, now: i64) -> i64 {
    day_of(earliest_unreported_streak_start(last_publish_time, max_price_age, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms() {
        // bought 2023-03-01 10:00:30, delay 120 s: active 10:03, ends 2023-03-31 00:00
        let now = 1_677_628_800 + 10 * 3_600 + 30;
        let t = policy_term(now, 120, 30).unwrap();
        assert_eq!(t.activation_time, 1_677_628_800 + 10 * 3_600 + 180);
        assert_eq!(t.end_time, 1_677_628_800 + 30 * 86_400);
        // activation crossing midnight moves the end a day
        let t = policy_term(1_677_628_800 - 60, 120, 1).unwrap();
        assert_eq!(t.end_time, 1_677_628_800 + 86_400);
        assert_eq!(policy_term(now, 120, 0), Err(CoreError::InvalidCoverTerm));
        assert_eq!(policy_term(now, 120, 366), Err(CoreError::InvalidCoverTerm));
    }

    #[test]
    fn eligibility() {
        assert!(is_eligible(100, 200, 100));
        assert!(is_eligible(100, 200, 199));
        assert!(!is_eligible(100, 200, 99));
        assert!(!is_eligible(100, 200, 200));
    }

    #[test]
    fn a_policy_is_closable_only_when_no_report_can_still_make_it_eligible() {
        let active = |last: i64| MarketClaims {
            epoch: 2,
            phase: MarketPhase::Active,
            last_publish_time: last,
            max_price_age: 60,
        };
        let end = 10_000;
        // ended 10 s ago: a depeg published at end − 3 may still be reported
        assert!(!policy_closable(false, 2, end, &active(end - 100), end + 10));
        // exactly max_price_age after the end: a streak could start at `end`, which is not in force
        assert!(policy_closable(false, 2, end, &active(end - 100), end + 60));
        assert!(!policy_closable(false, 2, end, &active(end - 100), end + 59));
        // the keepers already reported a price published at the end, no streak open
        assert!(policy_closable(false, 2, end, &active(end - 1), end + 1));
        assert!(!policy_closable(false, 2, end, &active(end - 2), end + 1));
        // not ended: never closable unsettled
        assert!(!policy_closable(false, 2, end, &active(end + 500), end - 1));
        // settled: always
        assert!(policy_closable(true, 2, end, &active(end - 100), end - 1));
        let with = |phase| MarketClaims {
            phase,
            ..active(end - 100)
        };
        assert!(!policy_closable(
            false,
            2,
            end,
            &with(MarketPhase::StreakOpen),
            end + 1_000
        ));
        assert!(!policy_closable(
            false,
            2,
            end,
            &with(MarketPhase::Triggered { released: false }),
            end + 1_000
        ));
        assert!(policy_closable(
            false,
            2,
            end,
            &with(MarketPhase::Triggered { released: true }),
            end + 1_000
        ));
        assert!(policy_closable(false, 2, end, &with(MarketPhase::Closed), end + 1));
        // a policy of an earlier epoch: that epoch's trigger was released
        assert!(policy_closable(false, 1, end, &with(MarketPhase::StreakOpen), end + 1));
    }

    #[test]
    fn claimable_cover_starts_at_the_earliest_unreported_streak() {
        let d = SECONDS_PER_DAY;
        // 10 s after midnight with a 60 s age: a streak could start before midnight
        assert_eq!(claimable_cover_day(0, 60, 5 * d + 10), 4);
        assert_eq!(claimable_cover_day(0, 60, 5 * d + 60), 5);
        // a report published after midnight settles the question at once
        assert_eq!(claimable_cover_day(5 * d, 60, 5 * d + 10), 5);
    }
}

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
}

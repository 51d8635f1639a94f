//! Withdrawal requests (PROTOCOL.md 3.1) and the required-capital gate (3.3).
//!
//! A request locks shares; they stay in the tranche's supply, so every loss
//! before redemption hits them. After `cooldown` and within `withdraw_window`
//! they redeem for the *lower* of their value at request and at redemption:
//! whatever they would have earned meanwhile stays with the pool.

use crate::math::{CoreResult, SafeMath};
use crate::shares::assets_for_shares;
use crate::CoreError;

/// Extra delay of a governance change beyond the cooldown and withdraw
/// window (1 day), so a staker who disagrees can always leave first.
pub const GOVERNANCE_GRACE: i64 = 86_400;

/// When a request may be redeemed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WithdrawalTiming {
    /// Seconds between request and the earliest redemption.
    pub cooldown: i64,
    /// Seconds after the cooldown during which redemption is allowed.
    pub withdraw_window: i64,
}

impl WithdrawalTiming {
    /// First second at which a request made at `requested_at` is redeemable.
    pub fn opens_at(&self, requested_at: i64) -> CoreResult<i64> {
        requested_at.safe_add(self.cooldown)
    }

    /// Last second at which a request made at `requested_at` is redeemable.
    pub fn lapses_at(&self, requested_at: i64) -> CoreResult<i64> {
        self.opens_at(requested_at)?.safe_add(self.withdraw_window)
    }

    /// The delay of anything that could hurt stakers — a queued parameter
    /// change, a new market's first sale (PROTOCOL.md 3.6): longer than a
    /// staker needs to leave (request, wait the cooldown, redeem within the
    /// window), plus [`GOVERNANCE_GRACE`].
    pub fn governance_delay(&self) -> CoreResult<i64> {
        self.cooldown.safe_add(self.withdraw_window)?.safe_add(GOVERNANCE_GRACE)
    }

    /// [`WithdrawalTiming::governance_delay`] while `queued` timing may be
    /// applied at any moment (a due pool change is applied by anyone, in the
    /// same transaction if they like): the longer of the two, so a request
    /// made under either timing ends before what the delay protects against.
    pub fn governance_delay_with(&self, queued: Option<WithdrawalTiming>) -> CoreResult<i64> {
        let current = self.governance_delay()?;
        match queued {
            Some(q) => Ok(current.max(q.governance_delay()?)),
            None => Ok(current),
        }
    }

    /// Whether a request made at `requested_at` may be redeemed at `now`.
    pub fn check_redeemable(&self, requested_at: i64, now: i64) -> CoreResult<()> {
        if now < self.opens_at(requested_at)? {
            return Err(CoreError::CooldownNotElapsed);
        }
        if now > self.lapses_at(requested_at)? {
            return Err(CoreError::WithdrawalRequestLapsed);
        }
        Ok(())
    }
}

/// Assets paid for `shares` under a request valued `value_at_request`, in a
/// tranche now holding `assets` with `total_shares` outstanding: the lower of
/// the two values, each rounded down.
pub fn redemption_value(shares: u64, value_at_request: u64, assets: u64, total_shares: u64) -> CoreResult<u64> {
    let value_now = assets_for_shares(shares, assets, total_shares)?;
    Ok(value_now.min(value_at_request))
}

/// Required capital (PROTOCOL.md 3.3): `max(largest market's active cover,
/// total active cover / L)`, with `L = max_leverage_bps / 10 000`, rounded up.
pub fn required_capital(largest_market_cover: u64, total_active_cover: u64, max_leverage_bps: u64) -> CoreResult<u64> {
    let by_leverage = crate::math::mul_div_ceil(total_active_cover, crate::BPS, max_leverage_bps)?;
    Ok(largest_market_cover.max(by_leverage))
}

/// Required capital from every market's active cover (PROTOCOL.md 3.3):
/// `max(largest, total / L)`, over whatever cover each market counts.
pub fn required_capital_of(active_cover: impl IntoIterator<Item = u64>, max_leverage_bps: u64) -> CoreResult<u64> {
    let (mut largest, mut total) = (0u64, 0u64);
    for active in active_cover {
        largest = largest.max(active);
        total = total.safe_add(active)?;
    }
    required_capital(largest, total, max_leverage_bps)
}

/// Refuses a redemption of `payout` that would leave `capital` below `required`.
pub fn check_capital_after_withdrawal(capital: u64, payout: u64, required: u64) -> CoreResult<()> {
    let after = capital.safe_sub(payout)?;
    if after < required {
        return Err(CoreError::RequiredCapitalBreached);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: WithdrawalTiming = WithdrawalTiming {
        cooldown: 100,
        withdraw_window: 50,
    };

    #[test]
    fn cooldown_and_window_both_ways() {
        assert_eq!(T.check_redeemable(1_000, 1_099), Err(CoreError::CooldownNotElapsed));
        assert_eq!(T.check_redeemable(1_000, 1_100), Ok(()));
        assert_eq!(T.check_redeemable(1_000, 1_150), Ok(()));
        assert_eq!(
            T.check_redeemable(1_000, 1_151),
            Err(CoreError::WithdrawalRequestLapsed)
        );
    }

    #[test]
    fn lower_of_two_values() {
        // gained since request: paid the value at request
        assert_eq!(redemption_value(100, 100, 300, 100), Ok(100));
        // lost since request: paid the value now
        assert_eq!(redemption_value(100, 100, 50, 100), Ok(50));
    }

    #[test]
    fn a_queued_timing_lengthens_the_governance_delay_never_shortens_it() {
        let longer = WithdrawalTiming {
            cooldown: 1_000,
            withdraw_window: 50,
        };
        let shorter = WithdrawalTiming {
            cooldown: 10,
            withdraw_window: 5,
        };
        assert_eq!(T.governance_delay_with(None), Ok(150 + GOVERNANCE_GRACE));
        assert_eq!(T.governance_delay_with(Some(longer)), Ok(1_050 + GOVERNANCE_GRACE));
        assert_eq!(T.governance_delay_with(Some(shorter)), Ok(150 + GOVERNANCE_GRACE));
    }

    #[test]
    fn required_capital_rule() {
        assert_eq!(required_capital_of([500, 700], 20_000), Ok(700));
        assert_eq!(required_capital_of([500, 700, 900], 10_000), Ok(2_100));
        assert_eq!(required_capital_of([], 10_000), Ok(0));
        assert_eq!(required_capital(500, 1_200, 20_000), Ok(600));
        assert_eq!(required_capital(800, 1_200, 20_000), Ok(800));
        assert_eq!(required_capital(0, 0, 10_000), Ok(0));
        assert_eq!(check_capital_after_withdrawal(1_000, 400, 600), Ok(()));
        assert_eq!(
            check_capital_after_withdrawal(1_000, 401, 600),
            Err(CoreError::RequiredCapitalBreached)
        );
    }
}

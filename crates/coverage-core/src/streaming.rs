//! Premium streaming (PROTOCOL.md 3.2): the stakers' part of each premium is
//! earned linearly over the policy's term, so a share price rises as premium
//! is earned, never in a jump at purchase, and a staker who joins mid-term
//! earns only from then on.
//!
//! The ledger keeps, per future UTC day, the premium to be earned during that
//! day (`by_day`, a ring), and for the current day the part not yet earned
//! (`today_unearned`), which is earned linearly over the seconds left in the
//! day. A new policy puts the current-day share of its premium into
//! `today_unearned` (so it too streams over the rest of the day) and spreads
//! the rest as evenly as integers allow over its remaining whole days.
//! Every unit is earned exactly once: over a policy's life the earned total
//! equals its net premium to the unit.
//!
//! Rounding: each accrual earns `floor(today_unearned × elapsed / left)`.
//! What a floor leaves is not lost but deferred to later in the same day (the
//! whole of a day's premium is earned by its end), so frequent accruals can
//! delay earning within a day by at most one unit per accrual — each of them
//! a transaction, worth far more in fees than the unit.

use crate::math::{mul_div_floor, CoreResult, SafeMath};
use crate::policy::day_of;
use crate::{CoreError, SECONDS_PER_DAY};

/// Days in the ledger ring (more than the longest term plus a day).
pub const LEDGER_DAYS: usize = crate::book::BOOK_DAYS;

/// Mutable view of the premium ledger (the program's zero-copy account lends its fields).
pub struct PremiumLedger<'a> {
    /// Day being earned.
    pub current_day: &'a mut i64,
    /// Last time accrued (within `current_day`).
    pub last_accrual: &'a mut i64,
    /// Part of the current day's premium not yet earned.
    pub today_unearned: &'a mut u64,
    /// Total premium not yet earned (`today_unearned` + the ring).
    pub unearned_total: &'a mut u64,
    /// Premium to be earned on each future day, ring of [`LEDGER_DAYS`].
    pub by_day: &'a mut [u64],
}

fn slot(day: i64) -> usize {
    day.rem_euclid(LEDGER_DAYS as i64) as usize
}

impl PremiumLedger<'_> {
    /// Earns everything due up to `now`; returns the amount earned. At most
    /// [`LEDGER_DAYS`] day steps (a ledger idle longer has nothing left in its ring).
    pub fn accrue(&mut self, now: i64) -> CoreResult<u64> {
        if now <= *self.last_accrual {
            return Ok(0);
        }
        let today = day_of(now);
        let mut earned: u64 = 0;
        let mut steps = 0usize;
        while *self.current_day < today {
            earned = earned.safe_add(*self.today_unearned)?;
            *self.current_day += 1;
            let s = slot(*self.current_day);
            *self.today_unearned = self.by_day[s];
            self.by_day[s] = 0;
            *self.last_accrual = self.current_day.safe_mul(SECONDS_PER_DAY)?;
            steps += 1;
            if steps >= LEDGER_DAYS && *self.current_day < today {
                // the ring is empty from here on: jump
                earned = earned.safe_add(*self.today_unearned)?;
                *self.today_unearned = 0;
                *self.current_day = today;
                *self.last_accrual = today.safe_mul(SECONDS_PER_DAY)?;
            }
        }
        // linear within the day over the seconds left
        let day_end = today.safe_add(1)?.safe_mul(SECONDS_PER_DAY)?;
        let left = day_end.safe_sub(*self.last_accrual)?;
        let elapsed = now.safe_sub(*self.last_accrual)?;
        let part = mul_div_floor(*self.today_unearned, elapsed as u64, left as u64)?;
        *self.today_unearned -= part;
        earned = earned.safe_add(part)?;
        *self.last_accrual = now;
        *self.unearned_total = self.unearned_total.safe_sub(earned)?;
        Ok(earned)
    }

    /// Schedules `net_premium` to be earned from `now` to `end_time` (a
    /// midnight after `now`). The ledger must have been accrued to `now`
    /// first (`LedgerNotAccrued`), so the new premium streams from `now` on.
    pub fn add(&mut self, net_premium: u64, now: i64, end_time: i64) -> CoreResult<()> {
        if *self.last_accrual != now {
            return Err(CoreError::LedgerNotAccrued);
        }
        let today = day_of(now);
        let end_day = day_of(end_time);
        if end_time <= now || end_day - today > LEDGER_DAYS as i64 - 1 {
            return Err(CoreError::InvalidCoverTerm);
        }
        let total = end_time.safe_sub(now)? as u64;
        let today_left = today.safe_add(1)?.safe_mul(SECONDS_PER_DAY)?.safe_sub(now)? as u64;
        let today_part = mul_div_floor(net_premium, today_left.min(total), total)?;
        *self.today_unearned = self.today_unearned.safe_add(today_part)?;
        let rest = net_premium - today_part;
        let full_days = (end_day - today - 1) as u64;
        if full_days == 0 {
            *self.today_unearned = self.today_unearned.safe_add(rest)?;
        } else {
            for (d, part) in (1..).zip(spread_evenly(rest, full_days)) {
                let s = slot(today + d);
                self.by_day[s] = self.by_day[s].safe_add(part)?;
            }
        }
        *self.unearned_total = self.unearned_total.safe_add(net_premium)?;
        Ok(())
    }
}

/// Day `d` (1-based) of `days` gets `⌊total·d/days⌋ − ⌊total·(d−1)/days⌋`:
/// as even as integers allow, the remainder spread rather than piled on one
/// day. Computed without a multiply or divide per day (this runs up to 366
/// times in `buy_cover`): with `total = q·days + r`, day `d` gets `q` plus one
/// more each time the running sum of `r` passes `days` (the carry of
/// `r·d / days`), which is exactly the difference of the two floors.
/// Property-tested equal to the `mul_div_floor` form
/// (`spread_evenly_equals_the_floor_differences`).
pub fn spread_evenly(total: u64, days: u64) -> impl Iterator<Item = u64> {
    let (q, r) = total.checked_div(days).zip(total.checked_rem(days)).unwrap_or((0, 0));
    let mut carry = 0u64;
    (0..days).map(move |_| {
        // r < days ≤ u64::MAX / 2 for any term the ledger takes, so this never overflows
        carry += r;
        if carry >= days {
            carry -= days;
            q + 1
        } else {
            q
        }
    })
}

/// Splits `earned` premium across tranches by `weights_bps` (junior first),
/// among tranches that can hold it (`eligible`: the tranche has shares). Each
/// senior part is rounded down; the most junior eligible tranche takes the
/// remainder, so the parts sum to `earned` exactly. With no eligible tranche
/// everything is returned as `unallocated`.
pub fn split_by_weight(earned: u64, weights_bps: &[u64], eligible: &[bool]) -> CoreResult<([u64; 4], u64)> {
    let mut parts = [0u64; 4];
    let total_weight: u64 = weights_bps
        .iter()
        .zip(eligible)
        .filter(|(_, e)| **e)
        .map(|(w, _)| *w)
        .sum();
    let Some(junior) = eligible.iter().position(|e| *e) else {
        return Ok((parts, earned));
    };
    if total_weight == 0 {
        return Ok((parts, earned));
    }
    let mut given = 0u64;
    for (i, (w, e)) in weights_bps.iter().zip(eligible).enumerate().take(4) {
        if *e && i != junior {
            parts[i] = mul_div_floor(earned, *w, total_weight)?;
            given = given.safe_add(parts[i])?;
        }
    }
    parts[junior] = earned.safe_sub(given)?;
    Ok((parts, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 86_400;

    struct Owned {
        day: i64,
        last: i64,
        today: u64,
        total: u64,
        ring: [u64; LEDGER_DAYS],
    }

    impl Owned {
        fn new(now: i64) -> Self {
            Self {
                day: day_of(now),
                last: now,
                today: 0,
                total: 0,
                ring: [0; LEDGER_DAYS],
            }
        }
        fn view(&mut self) -> PremiumLedger<'_> {
            PremiumLedger {
                current_day: &mut self.day,
                last_accrual: &mut self.last,
                today_unearned: &mut self.today,
                unearned_total: &mut self.total,
                by_day: &mut self.ring,
            }
        }
    }

    #[test]
    fn earns_linearly_and_exactly() {
        let start = 100 * D + 6 * 3_600; // 06:00
        let mut o = Owned::new(start);
        let mut l = o.view();
        l.add(1_000_003, start, 110 * D).unwrap();
        // no jump at purchase
        assert_eq!(l.accrue(start), Ok(0));
        let mut earned = l.accrue(start + 3_600).unwrap();
        assert!(earned > 0);
        for t in (start + 7_200..=111 * D).step_by(7_919) {
            earned += l.accrue(t).unwrap();
        }
        earned += l.accrue(111 * D).unwrap();
        assert_eq!(earned, 1_000_003);
        assert_eq!(*l.unearned_total, 0);
    }

    #[test]
    fn long_idle_catches_up() {
        let mut o = Owned::new(0);
        let mut l = o.view();
        l.add(500, 0, 365 * D).unwrap();
        assert_eq!(l.accrue(2_000 * D), Ok(500));
    }

    #[test]
    fn split() {
        assert_eq!(
            split_by_weight(101, &[7_000, 3_000], &[true, true]),
            Ok(([71, 30, 0, 0], 0))
        );
        assert_eq!(
            split_by_weight(101, &[7_000, 3_000], &[false, true]),
            Ok(([0, 101, 0, 0], 0))
        );
        assert_eq!(
            split_by_weight(101, &[7_000, 3_000], &[false, false]),
            Ok(([0; 4], 101))
        );
    }
}

//! A market's cover book: active cover kept by expiry day, so expired cover
//! stops counting against capacity and required capital without anyone
//! walking the policies, and so a trigger can compute the event's liability
//! from aggregates (PROTOCOL.md 3.3, 3.5).
//!
//! * `by_end_day[d % BOOK_DAYS]`: cover ending at 00:00 of day `d`, for days
//!   after `processed_day`.
//! * `active_cover`: the sum of those entries (cover not yet expired as of
//!   the end of `processed_day`), including cover still waiting to activate.
//! * `pending_*`: cover by activation minute, a ring of [`PENDING_SLOTS`]
//!   minutes: what a trigger must leave out because it was not yet active
//!   when the streak began. Exact for every activation window up to
//!   [`MAX_ACTIVATION_WINDOW`] (const-asserted here and in the program).

use crate::math::{CoreResult, SafeMath};
use crate::policy::{day_of, ACTIVATION_GRANULARITY, MAX_TERM_DAYS};
use crate::CoreError;

/// Days in the expiry ring: more than the longest term plus the day an
/// activation can cross into (the longest activation delay is 2 hours), so
/// no two live entries share a slot.
pub const BOOK_DAYS: usize = 384;
/// Longest activation window the book is exact for, seconds: a market's
/// `max_price_age + activation_delay` (1 hour + 2 hours at the program's
/// bounds, which assert they fit). A streak can be reported up to
/// `max_price_age` after it began, so sales up to then activate at most this
/// long after the streak's start, and [`CoverBook::cover_in_force_at`] must
/// still see every one of them pending.
pub const MAX_ACTIVATION_WINDOW: i64 = 3 * 3_600;
/// Activation-minute slots. Cover activating after a streak's start lies in
/// the `ceil(MAX_ACTIVATION_WINDOW / 60) + 1` minutes after the start's
/// minute; one more slot keeps a later sale with a shorter delay (after a
/// governance change) from reusing a slot still needed. 192 × 16 bytes.
pub const PENDING_SLOTS: usize = 192;

const _: () = assert!(BOOK_DAYS as u64 > MAX_TERM_DAYS + 2);
const _: () = assert!(
    PENDING_SLOTS as i64 >= (MAX_ACTIVATION_WINDOW + ACTIVATION_GRANULARITY - 1) / ACTIVATION_GRANULARITY + 2,
    "the pending ring must hold every activation minute after a streak's start"
);

/// Mutable view of a cover book (the program's zero-copy account lends its fields).
pub struct CoverBook<'a> {
    /// Cover not yet expired as of the end of `processed_day`.
    pub active_cover: &'a mut u64,
    /// Last day whose expiries were removed.
    pub processed_day: &'a mut i64,
    /// Cover by end day, ring of [`BOOK_DAYS`].
    pub by_end_day: &'a mut [u64],
    /// Activation minute held by each pending slot.
    pub pending_minute: &'a mut [i64],
    /// Cover activating at that minute.
    pub pending_amount: &'a mut [u64],
}

fn slot(day: i64) -> usize {
    day.rem_euclid(BOOK_DAYS as i64) as usize
}

/// Active cover as of `today` from a book's fields, read-only (for readers
/// that must not write, e.g. the required-capital check).
pub fn active_cover_on(active_cover: u64, processed_day: i64, by_end_day: &[u64], today: i64) -> CoreResult<u64> {
    if today <= processed_day {
        return Ok(active_cover);
    }
    if today - processed_day >= BOOK_DAYS as i64 {
        return Ok(0);
    }
    let mut active = active_cover;
    let mut d = processed_day + 1;
    while d <= today {
        active = active.safe_sub(by_end_day[slot(d)])?;
        d += 1;
    }
    Ok(active)
}

impl CoverBook<'_> {
    /// Expires what a sale at `now` may drop: only cover that ended before
    /// any price still acceptable could have been published. A streak may
    /// yet start up to `max_price_age` in the past, and cover in force then
    /// must stay on the book for its liability (see [`CoverBook::cover_in_force_at`]).
    pub fn expire_for_sale(&mut self, now: i64, max_price_age: i64) -> CoreResult<()> {
        self.expire(day_of(now.safe_sub(max_price_age)?))
    }

    /// Removes cover that ended at or before 00:00 of day `today + 1`… i.e.
    /// every entry with `end_day ≤ today`. At most [`BOOK_DAYS`] steps.
    pub fn expire(&mut self, today: i64) -> CoreResult<()> {
        if today <= *self.processed_day {
            return Ok(());
        }
        if today - *self.processed_day >= BOOK_DAYS as i64 {
            // everything in the ring has ended
            self.by_end_day.iter_mut().for_each(|x| *x = 0);
            *self.active_cover = 0;
        } else {
            let mut d = *self.processed_day + 1;
            while d <= today {
                let s = slot(d);
                *self.active_cover = self.active_cover.safe_sub(self.by_end_day[s])?;
                self.by_end_day[s] = 0;
                d += 1;
            }
        }
        *self.processed_day = today;
        Ok(())
    }

    /// Active cover as of `today` without changing the book.
    pub fn active_cover_on(&self, today: i64) -> CoreResult<u64> {
        active_cover_on(*self.active_cover, *self.processed_day, self.by_end_day, today)
    }

    /// Records `amount` of cover activating at `activation_time` (a whole
    /// minute) and ending at `end_time` (a midnight). Call after `expire(today)`.
    pub fn add(&mut self, amount: u64, activation_time: i64, end_time: i64) -> CoreResult<()> {
        let end_day = day_of(end_time);
        if end_day <= *self.processed_day || end_day - *self.processed_day >= BOOK_DAYS as i64 {
            return Err(CoreError::InvalidCoverTerm);
        }
        let s = slot(end_day);
        self.by_end_day[s] = self.by_end_day[s].safe_add(amount)?;
        *self.active_cover = self.active_cover.safe_add(amount)?;
        let minute = activation_time.div_euclid(ACTIVATION_GRANULARITY);
        let p = minute.rem_euclid(PENDING_SLOTS as i64) as usize;
        if self.pending_minute[p] != minute {
            self.pending_minute[p] = minute;
            self.pending_amount[p] = 0;
        }
        self.pending_amount[p] = self.pending_amount[p].safe_add(amount)?;
        Ok(())
    }

    /// Empties the book (a triggered epoch's cover is settled, not carried over).
    pub fn clear(&mut self, today: i64) {
        self.by_end_day.iter_mut().for_each(|x| *x = 0);
        self.pending_minute.iter_mut().for_each(|x| *x = 0);
        self.pending_amount.iter_mut().for_each(|x| *x = 0);
        *self.active_cover = 0;
        *self.processed_day = today;
    }

    /// Cover in force when a streak began at `streak_start`: not ended by then
    /// (`end > streak_start`) and already active (`activation ≤ streak_start`).
    /// Exact, from aggregates, given how sales use the book: sales stop while
    /// a streak is open, so any sale after `streak_start` happened at most
    /// `max_price_age` after it (a streak can start at a publish time that old)
    /// and activates after it (activation delay > max price age), and a sale
    /// expires only cover that ended `max_price_age` before it — never cover
    /// in force at a streak start still to be reported. Every sale that
    /// activates after `streak_start` does so within `max_price_age +
    /// activation_delay` ≤ [`MAX_ACTIVATION_WINDOW`] of it, so the pending ring
    /// still holds it.
    pub fn cover_in_force_at(&self, streak_start: i64) -> CoreResult<u64> {
        let start_day = day_of(streak_start);
        // entries ending at or before 00:00 of the streak's day are not in force
        let mut in_force = self.active_cover_on(start_day)?;
        // sales whose activation came after the streak began
        let first = streak_start.div_euclid(ACTIVATION_GRANULARITY);
        for p in 0..PENDING_SLOTS {
            let m = self.pending_minute[p];
            if m * ACTIVATION_GRANULARITY > streak_start && m <= first + PENDING_SLOTS as i64 {
                in_force = in_force.safe_sub(self.pending_amount[p])?;
            }
        }
        Ok(in_force)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owned {
        active: u64,
        processed: i64,
        days: [u64; BOOK_DAYS],
        minutes: [i64; PENDING_SLOTS],
        amounts: [u64; PENDING_SLOTS],
    }

    impl Owned {
        fn new(today: i64) -> Self {
            Self {
                active: 0,
                processed: today,
                days: [0; BOOK_DAYS],
                minutes: [0; PENDING_SLOTS],
                amounts: [0; PENDING_SLOTS],
            }
        }
        fn view(&mut self) -> CoverBook<'_> {
            CoverBook {
                active_cover: &mut self.active,
                processed_day: &mut self.processed,
                by_end_day: &mut self.days,
                pending_minute: &mut self.minutes,
                pending_amount: &mut self.amounts,
            }
        }
    }

    const D: i64 = 86_400;

    #[test]
    fn expiry_by_day() {
        let mut b = Owned::new(100);
        let mut v = b.view();
        v.add(10, 100 * D + 600, 103 * D).unwrap();
        v.add(5, 100 * D + 600, 101 * D).unwrap();
        assert_eq!(v.active_cover_on(100), Ok(15));
        assert_eq!(v.active_cover_on(101), Ok(10));
        assert_eq!(v.active_cover_on(103), Ok(0));
        v.expire(102).unwrap();
        assert_eq!(*v.active_cover, 10);
        v.expire(100 + BOOK_DAYS as i64 + 5).unwrap();
        assert_eq!(*v.active_cover, 0);
        assert_eq!(v.add(1, 0, 50 * D), Err(CoreError::InvalidCoverTerm));
    }

    #[test]
    fn cover_in_force_leaves_out_pending_and_ended() {
        let mut b = Owned::new(100);
        let mut v = b.view();
        v.add(100, 100 * D + 60, 110 * D).unwrap(); // active long before
        v.add(7, 100 * D + 60, 101 * D).unwrap(); // ends at the streak's midnight
        v.add(20, 101 * D + 3_600, 120 * D).unwrap(); // activates after the streak starts
        v.add(3, 101 * D + 1_800, 120 * D).unwrap(); // activates exactly at the start
        let start = 101 * D + 1_800;
        assert_eq!(v.cover_in_force_at(start), Ok(103));
        // a streak starting exactly at midnight: the cover ending then is out
        assert_eq!(v.cover_in_force_at(101 * D), Ok(100));
    }
}

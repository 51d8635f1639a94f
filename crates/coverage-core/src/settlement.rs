//! Settlement (PROTOCOL.md 3.5): the event's liability from aggregates, the
//! loss waterfall (junior first), the equal haircut, per-policy payouts, and
//! the release of what is left (senior first).
//!
//! With eligible cover `E` and payout fraction `f = num/den`:
//! * liability `L = ceil(E × f)` (never less than is owed);
//! * reserve `R = min(L, capital)`, taken junior tranche first;
//! * each eligible policy of amount `a` is paid `floor(floor(a × f) × R / L)`:
//!   the same haircut `R / L` for everyone, rounded down, so the payouts of an
//!   event never exceed its reserve, whatever the settlement order.

/// Most (policy, owner's token account) pairs one `settle_policies` takes: a
/// loop bound above what fits one transaction (28 pairs in a v0 transaction
/// with a lookup table, bounded by the 64 account locks; 12–13 in a legacy one).
pub const MAX_SETTLE_BATCH: usize = 32;

use crate::math::{mul_div_ceil, mul_div_floor, CoreResult, SafeMath};
use crate::CoreError;

/// A payout fraction `num / den` (0 ≤ num ≤ den, den > 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fraction {
    /// Numerator.
    pub num: u64,
    /// Denominator.
    pub den: u64,
}

impl Fraction {
    /// The whole amount.
    pub const ONE: Fraction = Fraction { num: 1, den: 1 };
}

/// Payout shape, prices in price units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Fraction 1.
    Binary,
    /// Fraction from 0 at the strike to 1 at `floor_price` (< strike).
    Linear {
        /// Price at or below which the fraction is 1.
        floor_price: u64,
    },
}

/// Payout fraction of an event whose lowest `price + conf` was `lowest`.
pub fn payout_fraction(shape: Shape, strike: u64, lowest: u64) -> CoreResult<Fraction> {
    match shape {
        Shape::Binary => Ok(Fraction::ONE),
        Shape::Linear { floor_price } => {
            if floor_price >= strike {
                return Err(CoreError::MathOverflow);
            }
            if lowest <= floor_price {
                return Ok(Fraction::ONE);
            }
            let num = strike.saturating_sub(lowest);
            Ok(Fraction {
                num,
                den: strike - floor_price,
            })
        }
    }
}

/// Liability of an event: `ceil(eligible_cover × f)`.
pub fn liability(eligible_cover: u64, f: Fraction) -> CoreResult<u64> {
    mul_div_ceil(eligible_cover, f.num, f.den)
}

/// Takes `amount` (at most the tranches' total) from `assets`, junior tranche
/// (index 0) first. Returns what was taken from each tranche and the total
/// taken (`min(amount, Σ assets)`).
pub fn reserve_waterfall(assets: &mut [u64], amount: u64) -> CoreResult<([u64; 4], u64)> {
    let mut taken = [0u64; 4];
    let mut left = amount;
    for (i, a) in assets.iter_mut().enumerate().take(4) {
        let t = (*a).min(left);
        *a -= t;
        taken[i] = t;
        left -= t;
    }
    Ok((taken, amount - left))
}

/// Returns `left` of an event's reserve to the tranches, senior first, each
/// up to what it gave (`taken`). Returns what each tranche got back.
pub fn release_waterfall(assets: &mut [u64], taken: &[u64], left: u64) -> CoreResult<[u64; 4]> {
    let mut back = [0u64; 4];
    let mut rest = left;
    for i in (0..assets.len().min(4)).rev() {
        let b = taken[i].min(rest);
        assets[i] = assets[i].safe_add(b)?;
        back[i] = b;
        rest -= b;
    }
    if rest > 0 {
        // more left than was taken cannot happen; refuse rather than mint value
        return Err(CoreError::MathOverflow);
    }
    Ok(back)
}

/// Payout of one eligible policy of `amount`: `floor(floor(amount × f) × R / L)`.
pub fn policy_payout(amount: u64, f: Fraction, reserve: u64, liability: u64) -> CoreResult<u64> {
    if liability == 0 {
        return Ok(0);
    }
    let owed = mul_div_floor(amount, f.num, f.den)?;
    if reserve >= liability {
        return Ok(owed);
    }
    mul_div_floor(owed, reserve, liability)
}

/// The haircut in bps (for display): `min(1, R / L)`, rounded down.
pub fn haircut_bps(reserve: u64, liability: u64) -> CoreResult<u64> {
    if liability == 0 || reserve >= liability {
        return Ok(crate::BPS);
    }
    mul_div_floor(reserve, crate::BPS, liability)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions() {
        assert_eq!(payout_fraction(Shape::Binary, 95, 10), Ok(Fraction::ONE));
        let f = payout_fraction(Shape::Linear { floor_price: 80 }, 95, 90).unwrap();
        assert_eq!(f, Fraction { num: 5, den: 15 });
        assert_eq!(
            payout_fraction(Shape::Linear { floor_price: 80 }, 95, 70),
            Ok(Fraction::ONE)
        );
        assert_eq!(liability(100, f), Ok(34));
    }

    #[test]
    fn waterfall_and_release() {
        let mut assets = [600, 400];
        let (taken, total) = reserve_waterfall(&mut assets, 700).unwrap();
        assert_eq!((assets, taken, total), ([0, 300], [600, 100, 0, 0], 700));
        let back = release_waterfall(&mut assets, &taken, 250).unwrap();
        assert_eq!((assets, back), ([150, 400], [150, 100, 0, 0]));
        // short capital
        let mut assets = [10, 20];
        assert_eq!(reserve_waterfall(&mut assets, 100).unwrap().1, 30);
    }

    #[test]
    fn equal_haircut() {
        // reserve 600 for a liability of 1000: every policy gets 60 %
        assert_eq!(policy_payout(500, Fraction::ONE, 600, 1_000), Ok(300));
        assert_eq!(policy_payout(333, Fraction::ONE, 600, 1_000), Ok(199));
        assert_eq!(policy_payout(500, Fraction::ONE, 1_000, 1_000), Ok(500));
        assert_eq!(haircut_bps(600, 1_000), Ok(6_000));
    }
}

//! Premium pricing (PROTOCOL.md 3.2): a kinked utilization curve, integrated
//! over the utilization a purchase moves through.
//!
//! With capacity `K` (cover units) and kink cover `k = K × kink / 10 000`
//! (rounded down), the annual rate at active cover `c` is, in bps,
//!
//! ```text
//! rate(c) = base + s1 × min(c, k) / k + s2 × max(c − k, 0) / (K − k)
//! ```
//!
//! A purchase of `A` when `C` is active, for `D` days, pays
//!
//! ```text
//! premium = D / 365 / 10 000 × ∫_C^{C+A} rate(c) dc
//! ```
//!
//! i.e. amount × term × the *average* rate over the utilization it moves
//! through. The integral splits into four pieces (base; `s1` below the kink;
//! `s1` flat above it; `s2` above it), each an exact rational that is additive
//! over intervals. Each piece is rounded up on its own, so
//! * the premium is never below the exact integral (rounding favours the pool);
//! * buying in pieces never costs less than buying at once: the pieces'
//!   rounded-up parts sum to at least the whole's rounded-up part;
//! * any non-zero cover pays at least one unit (`base ≥ 1 bps`).
//!
//! This function is the single source of truth: the program charges it and
//! the client quotes with it.

use crate::math::{CoreResult, SafeMath};
use crate::{CoreError, BPS};

/// Days in the pricing year.
pub const DAYS_PER_YEAR: u64 = 365;

/// A kinked utilization curve, all rates annual, in bps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Curve {
    /// Rate at zero utilization.
    pub base_rate_bps: u64,
    /// Rate added from zero utilization to the kink.
    pub slope_below_kink_bps: u64,
    /// Rate added from the kink to full utilization.
    pub slope_above_kink_bps: u64,
    /// Utilization of the kink, bps of capacity (0 < kink < 10 000).
    pub kink_utilization_bps: u64,
}

/// `ceil(d × s × num / den)` with u128 intermediates; `0` when `num == 0`.
fn piece(days: u64, slope: u64, num: u128, den: u128) -> CoreResult<u64> {
    if num == 0 || slope == 0 {
        return Ok(0);
    }
    let n = num.safe_mul(u128::from(slope))?.safe_mul(u128::from(days))?;
    let q = n.div_ceil(den);
    u64::try_from(q).map_err(|_| CoreError::MathOverflow)
}

/// `b² − a²` as u128 (b ≥ a).
fn squares_between(a: u64, b: u64) -> CoreResult<u128> {
    let (a, b) = (u128::from(a), u128::from(b));
    b.safe_mul(b)?.safe_sub(a.safe_mul(a)?)
}

impl Curve {
    /// Cover at the kink for capacity `capacity`, rounded down.
    pub fn kink_cover(&self, capacity: u64) -> CoreResult<u64> {
        crate::math::mul_div_floor(capacity, self.kink_utilization_bps, BPS)
    }

    /// Annual rate (bps, rounded down) at active cover `cover` of `capacity`:
    /// for display; premiums use [`Curve::premium`].
    pub fn rate_at(&self, cover: u64, capacity: u64) -> CoreResult<u64> {
        let k = self.kink_cover(capacity)?;
        let below = if k == 0 {
            self.slope_below_kink_bps
        } else {
            crate::math::mul_div_floor(self.slope_below_kink_bps, cover.min(k), k)?
        };
        let above = if cover <= k || capacity == k {
            0
        } else {
            crate::math::mul_div_floor(self.slope_above_kink_bps, cover - k, capacity - k)?
        };
        self.base_rate_bps.safe_add(below)?.safe_add(above)
    }

    /// Premium for `amount` of cover over `days`, when `active` cover is
    /// already sold against `capacity`. Rounded up. Refuses cover past capacity.
    pub fn premium(&self, amount: u64, days: u64, active: u64, capacity: u64) -> CoreResult<u64> {
        if amount == 0 || days == 0 {
            return Err(CoreError::ZeroAmount);
        }
        let end = active.safe_add(amount)?;
        if end > capacity {
            return Err(CoreError::CapacityExceeded);
        }
        let year = u128::from(DAYS_PER_YEAR * BPS);
        let k = self.kink_cover(capacity)?;
        // base over the whole interval
        let mut p = piece(days, self.base_rate_bps, u128::from(amount), year)?;
        // s1 × c / k below the kink
        let (a1, b1) = (active.min(k), end.min(k));
        if b1 > a1 {
            let den = year.safe_mul(2)?.safe_mul(u128::from(k))?;
            p = p.safe_add(piece(days, self.slope_below_kink_bps, squares_between(a1, b1)?, den)?)?;
        }
        // above the kink: s1 flat, plus s2 × (c − k) / (K − k)
        let (a2, b2) = (active.max(k), end.max(k));
        if b2 > a2 {
            p = p.safe_add(piece(days, self.slope_below_kink_bps, u128::from(b2 - a2), year)?)?;
            let den = year.safe_mul(2)?.safe_mul(u128::from(capacity - k))?;
            p = p.safe_add(piece(
                days,
                self.slope_above_kink_bps,
                squares_between(a2 - k, b2 - k)?,
                den,
            )?)?;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURVE: Curve = Curve {
        base_rate_bps: 200,
        slope_below_kink_bps: 800,
        slope_above_kink_bps: 4_000,
        kink_utilization_bps: 8_000,
    };
    const K: u64 = 1_000_000_000_000; // 1M USDC of capacity

    #[test]
    fn hand_computed_quotes() {
        // a tiny purchase at 0 %: ~ base rate. 1 000 USDC for 365 days at 2 % = 20 USDC
        // plus the s1 slope integrated over 0 → 0.1 %: 800 bps × 0.0005 (average u/kink) ≈ 0.0625 bps
        // = 1e9 × 800 × (1e9)² / (2 × 8e11) / (365e4) × 365 / 1e9 ... exactly:
        // s1 piece = ceil(365 × 800 × 1e18 / (2 × 8e11 × 3.65e6)) = ceil(50_000) = 50 000
        assert_eq!(CURVE.premium(1_000_000_000, 365, 0, K), Ok(20_000_000 + 50_000));
        // at the kink (80 %): rate = 10 %. 1 000 USDC for 365 days starting at the kink:
        // base 20 USDC + s1 flat 80 USDC + s2 ceil(365×4000×1e18/(2×2e11×3.65e6)) = 1 000 000 → 101 USDC
        assert_eq!(CURVE.premium(1_000_000_000, 365, 800_000_000_000, K), Ok(101_000_000));
        // above the kink, from 90 % to 100 %: average rate = 2 % + 8 % + 4 000 × 0.75 = 40 %
        assert_eq!(
            CURVE.premium(100_000_000_000, 365, 900_000_000_000, K),
            Ok(40_000_000_000)
        );
        // the whole capacity from 0 for 73 days (1/5 year): average rate over [0,1] =
        // 2 % + 8 % × (0.8 × 0.5 + 0.2) + 40 % × 0.2 × 0.5 = 2 + 4.8 + 4 = 10.8 % → 21 600 USDC
        assert_eq!(CURVE.premium(K, 73, 0, K), Ok(21_600_000_000));
    }

    #[test]
    fn bounds() {
        assert_eq!(CURVE.premium(0, 30, 0, K), Err(CoreError::ZeroAmount));
        assert_eq!(CURVE.premium(1, 0, 0, K), Err(CoreError::ZeroAmount));
        assert_eq!(CURVE.premium(1, 30, K, K), Err(CoreError::CapacityExceeded));
        assert_eq!(CURVE.premium(K + 1, 30, 0, K), Err(CoreError::CapacityExceeded));
        // never zero for non-zero cover: one unit for a day pays the base and
        // the s1 piece one unit each (each piece rounds up on its own)
        assert_eq!(CURVE.premium(1, 1, 0, K), Ok(2));
    }

    #[test]
    fn rates() {
        assert_eq!(CURVE.rate_at(0, K), Ok(200));
        assert_eq!(CURVE.rate_at(800_000_000_000, K), Ok(1_000));
        assert_eq!(CURVE.rate_at(K, K), Ok(5_000));
    }
}

/**
 * Premium pricing, a port of `coverage_core::pricing` (PROTOCOL.md 3.2):
 * the annual rate follows a kinked curve of utilization, and a purchase pays
 * the integral of the rate over the cover it moves through, in four exact
 * rational pieces, each rounded up. BigInt throughout, with the core's range
 * checks: the result equals the program's premium to the unit (golden vectors).
 */
import type { PricingCurve } from './generated';
import { BPS, RuleError, divCeil, mulDivFloor, u128, u64 } from './math';

/** Days in the pricing year. */
export const DAYS_PER_YEAR = 365n;

/** A pricing curve with BigInt rates (all annual, bps). */
export type Curve = {
  baseRateBps: bigint;
  slopeBelowKinkBps: bigint;
  slopeAboveKinkBps: bigint;
  kinkUtilizationBps: bigint;
};

/** The curve of a market account (`Market.curve`). */
export function curveOf(c: PricingCurve): Curve {
  return {
    baseRateBps: BigInt(c.baseRateBps),
    slopeBelowKinkBps: BigInt(c.slopeBelowKinkBps),
    slopeAboveKinkBps: BigInt(c.slopeAboveKinkBps),
    kinkUtilizationBps: BigInt(c.kinkUtilizationBps),
  };
}

/** `ceil(days × slope × num / den)` with u128 intermediates; 0 when `num` or `slope` is 0. */
function piece(days: bigint, slope: bigint, num: bigint, den: bigint): bigint {
  if (num === 0n || slope === 0n) return 0n;
  const n = u128(u128(num * slope) * days);
  return u64(divCeil(n, den));
}

/** `b² − a²` as u128 (`b ≥ a`). */
function squaresBetween(a: bigint, b: bigint): bigint {
  return u128(u128(b * b) - u128(a * a));
}

/** Cover at the kink for `capacity`, rounded down. */
export function kinkCover(curve: Curve, capacity: bigint): bigint {
  return mulDivFloor(capacity, curve.kinkUtilizationBps, BPS);
}

/**
 * Annual rate (bps, rounded down) at active `cover` of `capacity`: for display
 * (the curve's chart); premiums use {@link curvePremium}.
 */
export function rateAt(curve: Curve, cover: bigint, capacity: bigint): bigint {
  const k = kinkCover(curve, capacity);
  const below = k === 0n ? curve.slopeBelowKinkBps : mulDivFloor(curve.slopeBelowKinkBps, cover < k ? cover : k, k);
  const above = cover <= k || capacity === k ? 0n : mulDivFloor(curve.slopeAboveKinkBps, cover - k, capacity - k);
  return u64(u64(curve.baseRateBps + below) + above);
}

/**
 * Premium for `amount` of cover over `days` when `active` cover is already
 * sold against `capacity`: `Curve::premium`. Rounded up. Throws a
 * {@link RuleError}: `ZeroAmount` (amount or days 0), `CapacityExceeded`,
 * `MathOverflow`.
 */
export function curvePremium(curve: Curve, amount: bigint, days: bigint, active: bigint, capacity: bigint): bigint {
  if (amount === 0n || days === 0n) throw new RuleError('ZeroAmount', 'amount and days must be positive');
  const end = u64(active + amount);
  if (end > capacity) {
    throw new RuleError('CapacityExceeded', `cover ${active} + ${amount} is past the capacity ${capacity}`);
  }
  const year = DAYS_PER_YEAR * BPS;
  const k = kinkCover(curve, capacity);
  // base over the whole interval
  let p = piece(days, curve.baseRateBps, amount, year);
  // s1 × c / k below the kink
  const [a1, b1] = [active < k ? active : k, end < k ? end : k];
  if (b1 > a1) {
    const den = u128(u128(year * 2n) * k);
    p = u64(p + piece(days, curve.slopeBelowKinkBps, squaresBetween(a1, b1), den));
  }
  // above the kink: s1 flat, plus s2 × (c − k) / (K − k)
  const [a2, b2] = [active > k ? active : k, end > k ? end : k];
  if (b2 > a2) {
    p = u64(p + piece(days, curve.slopeBelowKinkBps, b2 - a2, year));
    const den = u128(u128(year * 2n) * (capacity - k));
    p = u64(p + piece(days, curve.slopeAboveKinkBps, squaresBetween(a2 - k, b2 - k), den));
  }
  return p;
}

/**
 * Payouts, a port of `coverage_core::settlement` and `coverage_core::policy`
 * and of what `settle_policies` does with one policy: eligibility (cover in
 * force when the streak began), the payout fraction, and the equal haircut
 * `reserve / liability`.
 */
import type { Market, PayoutShape, Policy } from './generated';
import { MarketStatus, PolicyStatus } from './generated';
import { BPS, RuleError, SECONDS_PER_DAY, dayOf, divFloor, i64, mulDivCeil, mulDivFloor } from './math';

/** A payout fraction `num / den`. */
export type Fraction = { num: bigint; den: bigint };

/** Longest term of a policy, days (`policy::MAX_TERM_DAYS`). */
export const MAX_TERM_DAYS = 365;
/** Activation times are whole minutes (`policy::ACTIVATION_GRANULARITY`). */
export const ACTIVATION_GRANULARITY = 60n;

/** Payout fraction of an event whose lowest `price + conf` was `lowest` (`payout_fraction`). */
export function payoutFraction(shape: PayoutShape, strike: bigint, lowest: bigint): Fraction {
  if (shape.__kind === 'Binary') return { num: 1n, den: 1n };
  const floor = shape.floorPrice;
  if (floor >= strike) throw new RuleError('MathOverflow', 'a linear floor must be below the strike');
  if (lowest <= floor) return { num: 1n, den: 1n };
  return { num: strike > lowest ? strike - lowest : 0n, den: strike - floor };
}

/** Liability of an event: `ceil(eligibleCover × f)`. */
export function liability(eligibleCover: bigint, f: Fraction): bigint {
  return mulDivCeil(eligibleCover, f.num, f.den);
}

/** Payout of one eligible policy of `amount`: `floor(floor(amount × f) × reserve / liability)`. */
export function policyPayout(amount: bigint, f: Fraction, reserve: bigint, liab: bigint): bigint {
  if (liab === 0n) return 0n;
  const owed = mulDivFloor(amount, f.num, f.den);
  if (reserve >= liab) return owed;
  return mulDivFloor(owed, reserve, liab);
}

/** The haircut in bps (10 000 = paid in full): `min(1, reserve / liability)`, rounded down. */
export function haircutBps(reserve: bigint, liab: bigint): bigint {
  if (liab === 0n || reserve >= liab) return BPS;
  return mulDivFloor(reserve, BPS, liab);
}

/** A policy is eligible iff its cover was in force when the streak began: `activation ≤ start < end`. */
export function isEligible(activationTime: bigint, endTime: bigint, streakStart: bigint): boolean {
  return activationTime <= streakStart && streakStart < endTime;
}

/**
 * Times of `days` of cover bought at `now` on a market with `activationDelay`
 * (`policy_term`): cover starts at `now + delay` rounded up to the minute and
 * ends at 00:00 UTC `days` days after the day it starts. Throws `InvalidCoverTerm`.
 */
export function policyTerm(now: bigint, activationDelay: bigint, days: bigint): { activationTime: bigint; endTime: bigint } {
  if (days === 0n || days > BigInt(MAX_TERM_DAYS)) {
    throw new RuleError('InvalidCoverTerm', `a term is 1 to ${MAX_TERM_DAYS} days, not ${days}`);
  }
  const raw = i64(now + activationDelay);
  const activationTime = i64(divFloor(i64(raw + ACTIVATION_GRANULARITY - 1n), ACTIVATION_GRANULARITY) * ACTIVATION_GRANULARITY);
  const endDay = i64(dayOf(activationTime) + days);
  return { activationTime, endTime: i64(endDay * SECONDS_PER_DAY) };
}

/** The market's payout fraction fixed at trigger. */
export function settledFraction(market: Market): Fraction {
  return { num: market.settlement.fractionNum, den: market.settlement.fractionDen };
}

/**
 * What settling `policy` on its triggered `market` (the account at `policy.market`) pays, as `settle_policies`
 * computes it: the amount × the event's fraction × the haircut if the cover
 * was in force when the streak began, else 0. `null` when settlement does not
 * apply: the market has not triggered in the policy's epoch, or the policy is
 * already settled (its `payout` says what it got).
 */
export function expectedPayout(policy: Policy, market: Market): { eligible: boolean; payout: bigint } | null {
  if (market.status !== MarketStatus.Triggered || policy.epoch !== market.event.epoch) return null;
  if (policy.status !== PolicyStatus.Active) return null;
  const s = market.settlement;
  const eligible = isEligible(policy.activationTime, policy.endTime, market.event.streakStart);
  return { eligible, payout: eligible ? policyPayout(policy.amount, settledFraction(market), s.reserve, s.liability) : 0n };
}

/** Where a policy stands, for a list of a buyer's policies. */
export type PolicyPhase =
  /** bought; cover starts at `activationTime` */
  | 'pending'
  /** in force */
  | 'active'
  /** the term is over, nothing was paid */
  | 'ended'
  /** its market triggered while it was in force: settlement will pay it */
  | 'claimable'
  /** settled with a payout (`payout`) */
  | 'paid'
  /** settled with nothing (not in force when the streak began) */
  | 'settled';

/** The phase of `policy` at `now`; pass its market (`policy.market`) to see a trigger that is not settled yet. */
export function policyPhase(policy: Policy, now: bigint, market?: Market): PolicyPhase {
  if (policy.status === PolicyStatus.Settled) return policy.payout > 0n ? 'paid' : 'settled';
  const due = market ? expectedPayout(policy, market) : null;
  if (due?.eligible) return 'claimable';
  if (now < policy.activationTime) return 'pending';
  return now < policy.endTime ? 'active' : 'ended';
}

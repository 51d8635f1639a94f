/**
 * Share math, a port of `coverage_core::shares` and `coverage_core::staking`:
 * share price = tranche assets / (share supply + dead shares), every
 * conversion rounded down (in the pool's favour).
 */
import type { Pool, Tranche, WithdrawalRequest } from './generated';
import { RuleError, mulDivFloor, u64, i64 } from './math';

/** Shares locked forever at a tranche's first deposit (`shares::DEAD_SHARES`). */
export const DEAD_SHARES = 1_000n;

/** What a deposit mints. */
export type DepositShares = { shares: bigint; deadShares: bigint };

/**
 * Shares minted for a deposit of `amount` into a tranche holding `assets` with
 * `totalShares` outstanding (`shares_for_deposit`): the preview behind a
 * deposit's `min_shares` bound. Throws `ZeroAmount`, `ZeroShares`,
 * `TrancheWipedOut`, `MathOverflow`.
 */
export function sharesForDeposit(amount: bigint, assets: bigint, totalShares: bigint): DepositShares {
  if (amount === 0n) throw new RuleError('ZeroAmount', 'a deposit of zero');
  if (totalShares === 0n) {
    if (amount <= DEAD_SHARES) {
      throw new RuleError('ZeroShares', `a first deposit must exceed the ${DEAD_SHARES} dead shares`);
    }
    return { shares: amount - DEAD_SHARES, deadShares: DEAD_SHARES };
  }
  if (assets === 0n) throw new RuleError('TrancheWipedOut', 'the tranche lost all its assets: deposits are closed');
  const shares = mulDivFloor(amount, totalShares, assets);
  if (shares === 0n) throw new RuleError('ZeroShares', 'the deposit is worth less than one share');
  u64(totalShares + shares);
  return { shares, deadShares: 0n };
}

/** Assets `shares` are worth (`assets_for_shares`), rounded down. Throws `InsufficientShares`. */
export function assetsForShares(shares: bigint, assets: bigint, totalShares: bigint): bigint {
  if (shares > totalShares) throw new RuleError('InsufficientShares', 'more shares than the tranche has');
  if (shares === 0n) return 0n;
  return mulDivFloor(shares, assets, totalShares);
}

/** Share price × `scale`, rounded down; `scale` (price 1) for an empty tranche (`share_price_scaled`). */
export function sharePriceScaled(assets: bigint, totalShares: bigint, scale: bigint): bigint {
  if (totalShares === 0n) return scale;
  return mulDivFloor(scale, assets, totalShares);
}

/** The lower of a request's value at request and the shares' value now (`staking::redemption_value`). */
export function redemptionValue(shares: bigint, valueAtRequest: bigint, assets: bigint, totalShares: bigint): bigint {
  const now = assetsForShares(shares, assets, totalShares);
  return now < valueAtRequest ? now : valueAtRequest;
}

/** The pool's tranche `index`, or `InvalidTranche` (`Pool::tranche`). */
export function trancheOf(pool: Pool, index: number): Tranche {
  const t = index >= 0 && index < pool.trancheCount ? pool.tranches[index] : undefined;
  if (!t) throw new RuleError('InvalidTranche', `tranche ${index} is out of range: the pool has ${pool.trancheCount}`);
  return t;
}

/** Shares outstanding in a tranche: its share mint's `supply` plus its dead shares. */
export function totalShares(pool: Pool, tranche: number, supply: bigint): bigint {
  return u64(supply + trancheOf(pool, tranche).deadShares);
}

/**
 * What `shares` of `tranche` are worth, given the share mint's `supply`. Reads
 * tranche assets as stored: to value shares at a later time, pass the pool
 * after {@link accruePool}.
 */
export function shareValue(pool: Pool, tranche: number, supply: bigint, shares: bigint): bigint {
  return assetsForShares(shares, trancheOf(pool, tranche).assets, totalShares(pool, tranche, supply));
}

/** When a withdrawal request may be redeemed: `[opensAt, lapsesAt]`, both inclusive (`WithdrawalTiming`). */
export function withdrawalWindow(request: Pick<WithdrawalRequest, 'requestedAt' | 'cooldown' | 'withdrawWindow'>): {
  opensAt: bigint;
  lapsesAt: bigint;
} {
  return withdrawalTiming(BigInt(request.cooldown), BigInt(request.withdrawWindow), request.requestedAt);
}

/** Opening and lapse times of a request made at `requestedAt` (`opens_at`, `lapses_at`). */
export function withdrawalTiming(
  cooldown: bigint,
  withdrawWindow: bigint,
  requestedAt: bigint,
): { opensAt: bigint; lapsesAt: bigint } {
  const opensAt = i64(requestedAt + cooldown);
  return { opensAt, lapsesAt: i64(opensAt + withdrawWindow) };
}

/** Throws `CooldownNotElapsed` or `WithdrawalRequestLapsed` unless redeemable at `now` (`check_redeemable`). */
export function checkRedeemable(window: { opensAt: bigint; lapsesAt: bigint }, now: bigint): void {
  if (now < window.opensAt) {
    throw new RuleError('CooldownNotElapsed', `the cooldown ends at ${window.opensAt}`);
  }
  if (now > window.lapsesAt) {
    throw new RuleError('WithdrawalRequestLapsed', `the window closed at ${window.lapsesAt}`);
  }
}

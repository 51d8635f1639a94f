/**
 * What the program would refuse, checked before a transaction is built: each
 * failure is an {@link InputError} naming the program error the transaction
 * would have failed with (`rule`) and the input at fault (`field`).
 */
import { U64_MAX } from './math';
import { MAX_TERM_DAYS } from './settlement';

/** Tranches a pool may have (`constants::MAX_TRANCHES`, the length of `Pool.tranches`). */
export const MAX_TRANCHES = 4;

/** An input the program would refuse. */
export class InputError extends Error {
  constructor(
    /** The program's error the transaction would fail with (`InvalidCoverTerm`, …), or `OutOfRange` for a value its type cannot hold. */
    readonly rule: string,
    /** The input at fault. */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/** `value` fits an unsigned integer of `bits`. */
export function checkUint(field: string, value: bigint | number, bits: 8 | 16 | 32 | 64): void {
  const v = BigInt(value);
  const max = bits === 64 ? U64_MAX : (1n << BigInt(bits)) - 1n;
  if ((typeof value === 'number' && !Number.isInteger(value)) || v < 0n || v > max) {
    throw new InputError('OutOfRange', field, `${field} must be an integer from 0 to ${max}, not ${value}`);
  }
}

/** A tranche index the pool has (`InvalidTranche`); pass the pool's `trancheCount` when known. */
export function checkTranche(tranche: number, trancheCount: number = MAX_TRANCHES): void {
  if (!Number.isInteger(tranche) || tranche < 0 || tranche >= trancheCount) {
    throw new InputError(
      'InvalidTranche',
      'tranche',
      `tranche ${tranche} is out of range: the pool has tranches 0 to ${trancheCount - 1}`,
    );
  }
}

/** A positive amount (`ZeroAmount`). */
export function checkPositive(field: string, amount: bigint | number): void {
  checkUint(field, amount, 64);
  if (BigInt(amount) === 0n) throw new InputError('ZeroAmount', field, `${field} must be greater than zero`);
}

/** A cover term of 1 to 365 whole days (`InvalidCoverTerm`). */
export function checkCoverTerm(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_TERM_DAYS) {
    throw new InputError('InvalidCoverTerm', 'days', `cover is sold for 1 to ${MAX_TERM_DAYS} whole days, not ${days}`);
  }
}

/**
 * A cover amount of at least one whole collateral token (`InvalidCoverAmount`);
 * without `decimals`, at least one base unit.
 */
export function checkCoverAmount(amount: bigint | number, decimals?: number): void {
  checkUint('amount', amount, 64);
  const min = decimals === undefined ? 1n : 10n ** BigInt(decimals);
  if (BigInt(amount) < min) {
    throw new InputError(
      'InvalidCoverAmount',
      'amount',
      `cover must be at least one whole token (${min} base units), not ${amount}`,
    );
  }
}

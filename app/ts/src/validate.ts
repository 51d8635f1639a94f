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
  const max = bits === 64 ? U64_MAX : (1n << BigInt(bits)) - 1n;
  // checked before BigInt(): BigInt(1.5) and BigInt(NaN) throw a bare RangeError
  if (typeof value === 'number' && !Number.isInteger(value)) {
    throw new InputError('OutOfRange', field, `${field} must be an integer from 0 to ${max}, not ${value}`);
  }
  const v = BigInt(value);
  if (v < 0n || v > max) {
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

/**
 * Parsers of what a person types into a form. Each refusal is an
 * {@link InputError} with a rule naming what is wrong — `Required`,
 * `InvalidNumber`, `AmbiguousSeparator`, `TooManyDecimals`, `OutOfRange` —
 * rather than a silent reading: `Number()` would take "0x1e" as 30 and ""
 * as 0, and stripping commas would read "1,5" as 15.
 */
const DECIMAL = /^(\d+)(?:\.(\d*))?$/;

function decimalText(field: string, text: string): RegExpExecArray {
  const t = text.trim().replace(/[\s_]/g, '');
  if (t === '') throw new InputError('Required', field, `enter the ${field}`);
  // a comma is a decimal separator in many locales and a thousands separator in others: ask
  if (t.includes(',')) throw new InputError('AmbiguousSeparator', field, `write the ${field} with a point for decimals and no thousands separators, not "${text.trim()}"`);
  const m = DECIMAL.exec(t);
  if (!m) throw new InputError('InvalidNumber', field, `the ${field} must be a decimal number such as 12.5, not "${text.trim()}"`);
  return m;
}

/** A decimal token amount ("1250.5") in base units of a mint with `decimals`. */
export function parseTokenAmount(field: string, text: string, decimals: number): bigint {
  const m = decimalText(field, text);
  const frac = m[2] ?? '';
  if (frac.length > decimals) throw new InputError('TooManyDecimals', field, `the ${field} has at most ${decimals} decimals, not ${frac.length}`);
  const units = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  checkUint(field, units, 64);
  return units;
}

/** A whole number of days in decimal digits ("30"; not "30.5", "3e1" nor "0x1e"). */
export function parseWholeDays(text: string): number {
  const t = text.trim();
  if (t === '') throw new InputError('Required', 'days', 'enter the number of days');
  if (!/^\d+$/.test(t)) throw new InputError('InvalidNumber', 'days', `days must be a whole number in digits, not "${t}"`);
  const days = Number(t);
  checkCoverTerm(days);
  return days;
}

/** A tolerance in percent from 0 to 100 with at most 2 decimals ("0.5"), in basis points. */
export function parseTolerancePercent(text: string): bigint {
  const m = decimalText('tolerance', text);
  const frac = m[2] ?? '';
  if (frac.length > 2) throw new InputError('TooManyDecimals', 'tolerance', `the tolerance has at most 2 decimals (0.01 %), not ${frac.length}`);
  const bps = BigInt(m[1]!) * 100n + BigInt(frac.padEnd(2, '0') || '0');
  if (bps > 10_000n) throw new InputError('OutOfRange', 'tolerance', `the tolerance is from 0 to 100 %, not ${text.trim()} %`);
  return bps;
}

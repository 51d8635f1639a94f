/**
 * Checked integer arithmetic on BigInt, as the Rust core does it
 * (`coverage_core::math`): every value is range-checked to its Rust type and
 * every failure is the program's `MathOverflow`, so a TypeScript quote refuses
 * exactly what the program refuses.
 */

export const U64_MAX = (1n << 64n) - 1n;
export const U128_MAX = (1n << 128n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;
/** Basis points in one whole (100 %). */
export const BPS = 10_000n;
/** Seconds in a day (cover is sold in whole UTC days). */
export const SECONDS_PER_DAY = 86_400n;

/**
 * A rule of the program refused an operation. `errorName` is the program's
 * error name (`CapacityExceeded`, `MathOverflow`, …), the same the program
 * would fail the transaction with.
 */
export class RuleError extends Error {
  constructor(
    readonly errorName: string,
    message?: string,
  ) {
    super(message ?? errorName);
    this.name = 'RuleError';
  }
}

const overflow = () => new RuleError('MathOverflow', 'arithmetic overflow');

function inRange(x: bigint, lo: bigint, hi: bigint): bigint {
  if (x < lo || x > hi) throw overflow();
  return x;
}

/** `x` as a u64, or `MathOverflow`. */
export const u64 = (x: bigint): bigint => inRange(x, 0n, U64_MAX);
/** `x` as a u128, or `MathOverflow`. */
export const u128 = (x: bigint): bigint => inRange(x, 0n, U128_MAX);
/** `x` as an i64, or `MathOverflow`. */
export const i64 = (x: bigint): bigint => inRange(x, I64_MIN, I64_MAX);

/** `a / b` rounded up (`b > 0`, `a ≥ 0`). */
export function divCeil(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Floor division (Rust's `div_euclid` for a positive divisor). */
export function divFloor(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** `a × b / c` rounded down, u128 intermediate, u64 result (`mul_div_floor`). */
export function mulDivFloor(a: bigint, b: bigint, c: bigint): bigint {
  if (c === 0n) throw overflow();
  return u64((a * b) / c);
}

/** `a × b / c` rounded up, u128 intermediate, u64 result (`mul_div_ceil`). */
export function mulDivCeil(a: bigint, b: bigint, c: bigint): bigint {
  if (c === 0n) throw overflow();
  return u64(divCeil(a * b, c));
}

/** UTC day number of a unix time (`policy::day_of`). */
export function dayOf(unix: bigint): bigint {
  return divFloor(unix, SECONDS_PER_DAY);
}

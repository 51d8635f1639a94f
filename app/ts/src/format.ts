/** Display helpers. */

/**
 * `units` of a token with `decimals` as a decimal string with grouped
 * thousands and no trailing zeros: `formatAmount(12345000000n, 6)` is
 * `"12 345"`, `formatAmount(1500000n, 6)` is `"1.5"`.
 */
export function formatAmount(units: bigint, decimals: number): string {
  const sign = units < 0n ? '-' : '';
  const abs = units < 0n ? -units : units;
  const scale = 10n ** BigInt(decimals);
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  const frac = (abs % scale).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}

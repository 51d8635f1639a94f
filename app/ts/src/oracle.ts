/**
 * Oracle prices as the program reads them: Pyth's `(price, conf, exponent)`
 * in the pool's price units of 10^-8 USD (`coverage_core::price`), and
 * whether a market sells cover now (`buy_cover`'s `check_sale`: the pool and
 * market state, then every check of the price update). Both are held to the
 * Rust code by golden vectors (`price_units`, `sale_checks`).
 */
import type { Address, ReadonlyUint8Array } from '@solana/kit';
import { MarketStatus, type Market, type Pool } from './generated';
import { BPS, I64_MAX, I64_MIN, RuleError, U64_MAX } from './math';
import { PYTH_RECEIVER_PROGRAM, readPriceUpdate } from './pyth';

/** Decimal exponent of the price unit: one unit is 10^-8 USD (`price::PRICE_EXPONENT`). */
export const PRICE_EXPONENT = -8;
/** Largest oracle exponent the program accepts (`price::MAX_EXPONENT`). */
export const MAX_EXPONENT = 8;
/** One US dollar in price units. */
export const PRICE_ONE = 100_000_000n;

/**
 * An oracle value with decimal `exponent` in price units, exactly
 * (`price::to_price_units`): `UnsupportedPriceExponent` outside −8..=8,
 * `PriceNotRepresentable` past a u64.
 */
export function toPriceUnits(value: bigint, exponent: number): bigint {
  if (!Number.isInteger(exponent) || exponent < PRICE_EXPONENT || exponent > MAX_EXPONENT) {
    throw new RuleError('UnsupportedPriceExponent', `the price exponent ${exponent} is outside ${PRICE_EXPONENT}..${MAX_EXPONENT}`);
  }
  const units = value * 10n ** BigInt(exponent - PRICE_EXPONENT);
  if (units < 0n || units > U64_MAX) throw new RuleError('PriceNotRepresentable', `${value}e${exponent} is past a u64 in price units`);
  return units;
}

/** A positive oracle price and its confidence in price units (`price::from_oracle`), or the program's error. */
export function fromOracle(price: bigint, conf: bigint, exponent: number): { price: bigint; conf: bigint } {
  if (price <= 0n) throw new RuleError('NonPositivePrice', `the oracle price ${price} is not positive`);
  return { price: toPriceUnits(price, exponent), conf: toPriceUnits(conf, exponent) };
}

/** A price update account as fetched: its owner and data (`null`: no account at the address). */
export type PriceAccount = { owner: Address; data: ReadonlyUint8Array } | null;

const saturatingSub = (a: bigint, b: bigint) => {
  const d = a - b;
  return d > I64_MAX ? I64_MAX : d < I64_MIN ? I64_MIN : d;
};

/**
 * Why `buy_cover` would refuse any purchase on `market` at `now` with the
 * price in `priceUpdate` — the program's error name — or `null` when the
 * market sells cover (the amount is then up to capacity and the premium
 * bound). The checks and their order are `check_sale`'s:
 *
 * `PoolPaused`, `MarketPaused`, `SalesStoppedStreakOpen`,
 * `MarketAlreadyTriggered`, `MarketClosed`, `MarketNotOpen` (before
 * `salesOpenAt`); the price update: owned by the Pyth receiver
 * (`OracleWrongOwner`), a `PriceUpdateV2` (`OracleInvalidAccount`), fully
 * verified (`OracleNotFullyVerified`), of the market's feed
 * (`OracleWrongFeed`), positive (`NonPositivePrice`) and in price units
 * (`UnsupportedPriceExponent`, `PriceNotRepresentable`); at most
 * `maxPriceAge` old and not older than the market's last accepted price
 * (`StalePrice`), confidence within `maxConfBps` of the price
 * (`ConfidenceTooWide`), and `price − conf ≥ strike` (`PriceBelowStrike`).
 */
export function saleRefusal(pool: Pick<Pool, 'paused'>, market: Market, priceUpdate: PriceAccount, now: bigint): string | null {
  if (pool.paused) return 'PoolPaused';
  if (market.paused) return 'MarketPaused';
  switch (market.status) {
    case MarketStatus.StreakOpen:
      return 'SalesStoppedStreakOpen';
    case MarketStatus.Triggered:
      return 'MarketAlreadyTriggered';
    case MarketStatus.Closed:
      return 'MarketClosed';
  }
  if (now < market.salesOpenAt) return 'MarketNotOpen';
  return priceRefusal(market, priceUpdate, now);
}

/**
 * Why `withdraw` would refuse for `market`'s price (the program's
 * `check_withdraw_price`), or `null`: an open (`salesOpenAt` passed), active
 * market needs a price `saleRefusal` would accept, a breached strike being
 * `PriceBelowStrikeInPool`; a market in any other state passes. `withdraw`
 * also refuses while the pool has an open streak (`StreakOpenInPool`) and
 * below the required capital (`RequiredCapitalBreached`).
 */
export function withdrawPriceRefusal(market: Market, priceUpdate: PriceAccount, now: bigint): string | null {
  if (market.status !== MarketStatus.Active || now < market.salesOpenAt) return null;
  const refusal = priceRefusal(market, priceUpdate, now);
  return refusal === 'PriceBelowStrike' ? 'PriceBelowStrikeInPool' : refusal;
}

/** The price update's checks (`read_observation`, then `TriggerTerms::check_healthy_price`). */
function priceRefusal(market: Market, priceUpdate: PriceAccount, now: bigint): string | null {
  if (!priceUpdate || priceUpdate.owner !== PYTH_RECEIVER_PROGRAM) return 'OracleWrongOwner';
  const update = readPriceUpdate(priceUpdate.data);
  if (!update) return 'OracleInvalidAccount';
  if (update.verificationLevel.__kind !== 'Full') return 'OracleNotFullyVerified';
  if (!update.feedId.every((b, i) => b === market.feedId[i])) return 'OracleWrongFeed';
  let price: { price: bigint; conf: bigint };
  try {
    price = fromOracle(update.price, update.conf, update.exponent);
  } catch (e) {
    if (e instanceof RuleError) return e.errorName;
    throw e;
  }
  // `TriggerTerms::check_healthy_price`
  if (saturatingSub(now, update.publishTime) > BigInt(market.maxPriceAge) || update.publishTime < market.lastPublishTime) {
    return 'StalePrice';
  }
  if (price.conf * BPS > price.price * BigInt(market.maxConfBps)) return 'ConfidenceTooWide';
  if (price.price < price.conf || price.price - price.conf < market.strike) return 'PriceBelowStrike';
  return null;
}

// Oracle prices in price units and whether a market sells cover: every case
// the Rust side wrote (`price::from_oracle`, `buy_cover`'s `check_sale` on a
// real pool and market), to the error name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeMarketData, decodePoolData } from '../src/accounts';
import { fromOracle, saleRefusal, toPriceUnits, withdrawPriceRefusal } from '../src/oracle';
import { addr, big, fromHex, golden, outcome, type Json } from './golden';

const units = (u: { price: bigint; conf: bigint }) => ({ price: u.price.toString(), conf: u.conf.toString() });

test('oracle prices in price units equal the core\'s (from_oracle), refusals by name', () => {
  assert.ok(golden.price_units.length >= 50);
  for (const c of golden.price_units) {
    assert.deepEqual(outcome(() => fromOracle(big(c.price), big(c.conf), c.exponent), units), c.result, JSON.stringify(c));
  }
  const errors = new Set(golden.price_units.map((c: Json) => c.result.error).filter(Boolean));
  assert.deepEqual([...errors].sort(), ['NonPositivePrice', 'PriceNotRepresentable', 'UnsupportedPriceExponent']);
  // one dollar at each exponent the program takes
  for (let e = -8; e <= 8; e++) assert.equal(toPriceUnits(e < 0 ? 10n ** BigInt(-e) : 1n, e), e <= 0 ? 100_000_000n : 100_000_000n * 10n ** BigInt(e));
});

test('whether a market sells cover equals buy_cover\'s check_sale, every refusal by name', () => {
  for (const c of golden.sale_checks) {
    const pool = decodePoolData(fromHex(c.pool));
    const market = decodeMarketData(fromHex(c.market));
    const update = { owner: addr(c.price_update.owner), data: fromHex(c.price_update.data) };
    const got = saleRefusal(pool, market, update, big(c.now));
    assert.deepEqual(got === null ? { ok: null } : { error: got }, c.result, c.label);
  }
  const names = new Set(golden.sale_checks.map((c: Json) => c.result.error ?? 'ok'));
  for (const name of [
    'ok', 'PoolPaused', 'MarketPaused', 'SalesStoppedStreakOpen', 'MarketAlreadyTriggered', 'MarketClosed', 'MarketNotOpen',
    'OracleWrongOwner', 'OracleInvalidAccount', 'OracleNotFullyVerified', 'OracleWrongFeed', 'NonPositivePrice',
    'UnsupportedPriceExponent', 'PriceNotRepresentable', 'StalePrice', 'ConfidenceTooWide', 'PriceBelowStrike',
  ]) {
    assert.ok(names.has(name), `a case of ${name}`);
  }
  // no account at the address: the program sees the system program's empty account
  const c = golden.sale_checks[0];
  assert.equal(saleRefusal(decodePoolData(fromHex(c.pool)), decodeMarketData(fromHex(c.market)), null, big(c.now)), 'OracleWrongOwner');
});

test('whether withdraw accepts a market\'s price equals the program\'s check_withdraw_price, by name', () => {
  const names = new Set<string>();
  for (const c of golden.sale_checks) {
    const market = decodeMarketData(fromHex(c.market));
    const update = { owner: addr(c.price_update.owner), data: fromHex(c.price_update.data) };
    const got = withdrawPriceRefusal(market, update, big(c.now));
    assert.deepEqual(got === null ? { ok: null } : { error: got }, c.withdraw, c.label);
    names.add(got ?? 'ok');
  }
  // a triggered or not-yet-open market passes; a breach has withdraw's own name
  for (const name of ['ok', 'PriceBelowStrikeInPool', 'StalePrice', 'OracleWrongOwner']) assert.ok(names.has(name), `a case of ${name}`);
  assert.ok(!names.has('PriceBelowStrike'));
});

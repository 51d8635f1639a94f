// Share values and deposits (`coverage_core::shares`, `staking`), and the
// value of shares of real tranches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePoolData } from '../src/accounts';
import {
  assetsForShares,
  checkRedeemable,
  redemptionValue,
  sharePriceScaled,
  sharesForDeposit,
  shareValue,
  withdrawalTiming,
} from '../src/shares';
import { big, fromHex, golden, outcome } from './golden';

const str = (x: bigint) => x.toString();

test('deposits mint the core\'s shares', () => {
  for (const d of golden.shares.deposits) {
    const got = outcome(
      () => sharesForDeposit(big(d.amount), big(d.assets), big(d.total_shares)),
      (r) => ({ shares: str(r.shares), dead_shares: str(r.deadShares) }),
    );
    assert.deepEqual(got, d.result, JSON.stringify(d));
  }
});

test('share values, prices and redemptions equal the core\'s', () => {
  for (const v of golden.shares.values) {
    assert.deepEqual(outcome(() => assetsForShares(big(v.shares), big(v.assets), big(v.total_shares)), str), v.value);
  }
  for (const p of golden.shares.prices) {
    assert.deepEqual(outcome(() => sharePriceScaled(big(p.assets), big(p.total_shares), big(p.scale)), str), p.price);
  }
  for (const r of golden.shares.redemptions) {
    const got = outcome(
      () => redemptionValue(big(r.shares), big(r.value_at_request), big(r.assets), big(r.total_shares)),
      str,
    );
    assert.deepEqual(got, r.value, JSON.stringify(r));
  }
});

test('shares of real tranches are worth what the bank says', () => {
  for (const v of golden.share_values) {
    const pool = decodePoolData(fromHex(v.pool));
    assert.equal(shareValue(pool, v.tranche, big(v.supply), big(v.shares)).toString(), v.value);
  }
});

test('withdrawal requests open and lapse when the core says', () => {
  for (const t of golden.shares.withdrawal_timing) {
    const w = withdrawalTiming(big(t.cooldown), big(t.withdraw_window), big(t.requested_at));
    assert.deepEqual([w.opensAt.toString(), w.lapsesAt.toString()], [t.opens_at, t.lapses_at]);
    assert.deepEqual(outcome(() => checkRedeemable(w, big(t.now)), () => null), t.redeemable);
  }
});

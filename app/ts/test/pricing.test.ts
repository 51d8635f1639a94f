// Premiums: the core's `pricing::Curve` (≥ 200 cases with the edges) and full
// quotes on real accounts (`coverage_sdk::quote`), to the unit; required
// capital, from the cover a withdrawal must still back; premium accrual into the tranches (`Pool::accrue_premium`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCoverBookData, decodeMarketData, decodePoolData, decodePremiumLedgerData } from '../src/accounts';
import { curvePremium, kinkCover, rateAt, type Curve } from '../src/pricing';
import {
  accruePool,
  claimableCover,
  claimableCoverDay,
  marketCapacity,
  poolRequiredCapital,
  quotePremium,
  requiredCapital,
  scheduledEarnings,
} from '../src/quote';
import { getPoolEncoder, getPremiumLedgerEncoder, type CoverBook, type Market, type Pool } from '../src/generated';
import { big, fromHex, golden, outcome, toHex, type Json } from './golden';

const curve = (c: Json): Curve => ({
  baseRateBps: BigInt(c.base_rate_bps),
  slopeBelowKinkBps: BigInt(c.slope_below_kink_bps),
  slopeAboveKinkBps: BigInt(c.slope_above_kink_bps),
  kinkUtilizationBps: BigInt(c.kink_utilization_bps),
});
const str = (x: bigint) => x.toString();

test('curve premiums equal the core\'s, refusals included', () => {
  assert.ok(golden.curve_quotes.length >= 200);
  for (const q of golden.curve_quotes) {
    const c = curve(q.curve);
    const got = outcome(() => curvePremium(c, big(q.amount), big(q.days), big(q.active), big(q.capacity)), str);
    assert.deepEqual(got, q.premium, JSON.stringify(q));
    assert.deepEqual(outcome(() => kinkCover(c, big(q.capacity)), str), q.kink_cover);
  }
});

test('the cases reach the edges: kink, full capacity, one unit, refusals', () => {
  const hits = (f: (q: Json) => boolean) => golden.curve_quotes.filter(f).length;
  assert.ok(hits((q) => q.active === q.kink_cover.ok) > 10, 'starting at the kink');
  assert.ok(hits((q) => big(q.active) + big(q.amount) === big(q.capacity) && 'ok' in q.premium) > 10, 'to full capacity');
  assert.ok(hits((q) => q.amount === '1' && 'ok' in q.premium) > 10, 'one unit');
  for (const error of ['CapacityExceeded', 'ZeroAmount', 'MathOverflow']) {
    assert.ok(hits((q) => q.premium.error === error) > 0, error);
  }
});

test('rates on the curve (the chart) equal the core\'s', () => {
  for (const r of golden.rates) {
    assert.deepEqual(outcome(() => rateAt(curve(r.curve), big(r.cover), big(r.capacity)), str), r.rate_bps);
  }
});

test('full quotes on accounts from the bank equal the SDK\'s, at later times too', () => {
  let n = 0;
  for (const s of golden.quotes) {
    const accounts = {
      pool: decodePoolData(fromHex(s.pool)),
      ledger: decodePremiumLedgerData(fromHex(s.ledger)),
      market: decodeMarketData(fromHex(s.market)),
      book: decodeCoverBookData(fromHex(s.book)),
    };
    for (const q of s.quotes) {
      const now = big(q.now);
      const got = outcome(() => quotePremium(accounts, big(q.amount), q.days, now), str);
      assert.deepEqual(got, q.premium, `${s.label}: ${JSON.stringify(q)}`);
      assert.equal(marketCapacity(accounts, now).capacity.toString(), q.capacity);
      n++;
    }
  }
  assert.ok(n >= 10);
});

test('required capital equals the program\'s (Pool::required_capital), overflow included', () => {
  assert.ok(golden.required_capital.length >= 40);
  for (const c of golden.required_capital) {
    const got = outcome(() => requiredCapital(c.active_cover.map(big), c.max_leverage_bps), str);
    assert.deepEqual(got, c.result, JSON.stringify(c));
  }
});

test('scheduled earnings split the ledger\'s premium among tranches, all of it by the last scheduled day', () => {
  for (const s of golden.quotes) {
    const pool = decodePoolData(fromHex(s.pool));
    const ledger = decodePremiumLedgerData(fromHex(s.ledger));
    const from = big(s.quotes[0].now);
    const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);
    const start = accruePool(pool, ledger, from);
    for (const days of [0n, 1n, 7n, 30n, 400n]) {
      const to = from + days * 86_400n;
      const earned = scheduledEarnings(pool, ledger, from, to);
      const end = accruePool(start.pool, start.ledger, to);
      // what the ledger released is what the tranches gained, plus what no tranche could take (fees)
      assert.equal(sum(earned) + (end.pool.feesOwed - start.pool.feesOwed), start.ledger.unearnedTotal - end.ledger.unearnedTotal, s.label);
      if (days === 0n) assert.equal(sum(earned), 0n);
      if (days === 400n) assert.equal(end.ledger.unearnedTotal, 0n, `${s.label}: every scheduled day is past`);
    }
  }
});

test('premium accrual equals the program\'s (Pool::accrue_premium): each tranche, the fees, the ledger after', () => {
  assert.ok(golden.accruals.length >= 10);
  for (const a of golden.accruals) {
    const pool = decodePoolData(fromHex(a.pool));
    const ledger = decodePremiumLedgerData(fromHex(a.ledger));
    const after = accruePool(pool, ledger, big(a.now));
    const n = pool.trancheCount;
    assert.deepEqual(pool.tranches.slice(0, n).map((t) => t.deadShares > 0n), a.eligible, a.label);
    assert.equal((ledger.unearnedTotal - after.ledger.unearnedTotal).toString(), a.earned, `${a.label}: earned`);
    assert.deepEqual(after.pool.tranches.slice(0, n).map((t) => t.assets.toString()), a.assets, `${a.label}: assets`);
    assert.equal(after.pool.feesOwed.toString(), a.fees_owed, `${a.label}: fees owed`);
    // every field of both accounts, as the program leaves them
    assert.equal(toHex(getPoolEncoder().encode(after.pool)), a.pool_after, `${a.label}: the pool after`);
    assert.equal(toHex(getPremiumLedgerEncoder().encode(after.ledger)), a.ledger_after, `${a.label}: the ledger after`);
    // the inputs are not changed
    assert.equal(toHex(getPoolEncoder().encode(pool)), a.pool);
  }
  const label = (l: string) => golden.accruals.filter((a: Json) => a.label.includes(l));
  // an ineligible tranche gets nothing, all earned went to the junior
  assert.ok(label('without shares').some((a: Json) => a.eligible[1] === false && a.earned !== '0' && a.assets[1] === '0'));
  // no eligible tranche: the fees take it all
  assert.ok(label('no tranche with shares').every((a: Json) => a.eligible.every((e: boolean) => !e) && a.earned !== '0'));
  assert.equal(label('ring jump').length, 1);
});

// A book of the vectors' sparse form (day → cover ending at its midnight) in the program's 384-day ring.
const bookOf = (c: Json): CoverBook => {
  const byEndDay = new Array<bigint>(384).fill(0n);
  for (const [d, a] of c.ending) byEndDay[Number(big(d) % 384n)]! += big(a);
  return { activeCover: big(c.active_cover), processedDay: big(c.processed_day), byEndDay } as unknown as CoverBook;
};
const marketOf = (c: Json): Market =>
  ({ lastPublishTime: big(c.last_publish_time), maxPriceAge: c.max_price_age }) as unknown as Market;

test('claimable cover equals the core\'s (policy::claimable_cover_day): publishes before and after midnight, ages across it', () => {
  assert.ok(golden.claimable_cover.length >= 40);
  for (const c of golden.claimable_cover) {
    const now = big(c.now);
    assert.equal(claimableCoverDay(big(c.last_publish_time), c.max_price_age, now).toString(), c.day, c.label);
    assert.equal(claimableCover(bookOf(c), marketOf(c), now).toString(), c.cover, c.label);
  }
  // the vectors hold the cases that today's cover alone gets wrong: cover ended at midnight still backed
  const label = (l: string) => golden.claimable_cover.find((c: Json) => c.label === l);
  assert.equal(label('last publish before midnight, 10 s after it').cover, '1350');
  assert.equal(label('stale publish, max age spanning midnight').cover, '1350');
  assert.equal(label('last publish after midnight').cover, '350');
});

test('the pool\'s required capital counts each market\'s claimable cover, as withdraw does', () => {
  const pool = { maxLeverageBps: 20_000 } as unknown as Pool;
  const cases = golden.claimable_cover.slice(0, 3);
  // each vector as a one-market pool, at its own clock
  for (const c of cases) {
    const now = big(c.now);
    const got = poolRequiredCapital(pool, [marketOf(c)], [bookOf(c)], now);
    assert.equal(got, requiredCapital([big(c.cover)], 20_000), c.label);
  }
  // before midnight's publish is reported, a withdrawal keeps capital for the 1 000 that ended at midnight
  const before = cases[0];
  assert.equal(poolRequiredCapital(pool, [marketOf(before), marketOf(before)], [bookOf(before), bookOf(before)], big(before.now)), 1350n);
  assert.throws(() => poolRequiredCapital(pool, [], [bookOf(before)], big(before.now)), { errorName: 'WrongMarketBooks' });
});

// Payouts: fractions, liabilities, haircuts (`coverage_core::settlement`),
// policy terms (`policy`), and what settlement paid real policies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeAccountData, decodeMarketData, decodePolicyData } from '../src/accounts';
import type { PayoutShape, Policy } from '../src/generated';
import {
  expectedPayout,
  haircutBps,
  isEligible,
  liability,
  payoutFraction,
  policyPayout,
  policyPhase,
  policyTerm,
} from '../src/settlement';
import { big, fromHex, golden, outcome, type Json } from './golden';

const str = (x: bigint) => x.toString();
const shape = (s: Json): PayoutShape =>
  s.kind === 'Binary' ? { __kind: 'Binary' } : { __kind: 'Linear', floorPrice: big(s.floor_price) };
const fraction = (f: Json) => ({ num: big(f.num), den: big(f.den) });

test('payout fractions equal the core\'s', () => {
  for (const f of golden.payouts.fractions) {
    const got = outcome(
      () => payoutFraction(shape(f.shape), big(f.strike), big(f.lowest)),
      (x) => ({ num: str(x.num), den: str(x.den) }),
    );
    assert.deepEqual(got, f.fraction, JSON.stringify(f));
  }
});

test('liabilities, payouts with haircuts and haircuts equal the core\'s', () => {
  let short = 0;
  for (const p of golden.payouts.payouts) {
    const f = fraction(p.fraction);
    assert.deepEqual(outcome(() => liability(big(p.eligible_cover), f), str), p.liability);
    const l = big(p.liability.ok);
    assert.deepEqual(outcome(() => policyPayout(big(p.amount), f, big(p.reserve), l), str), p.payout, JSON.stringify(p));
    assert.deepEqual(outcome(() => haircutBps(big(p.reserve), l), str), p.haircut_bps);
    if (p.haircut_bps.ok !== '10000') short++;
  }
  assert.ok(short > 10, 'cases with a haircut');
});

test('eligibility and policy terms equal the core\'s', () => {
  for (const e of golden.payouts.eligibility) {
    assert.equal(isEligible(big(e.activation_time), big(e.end_time), big(e.streak_start)), e.eligible);
  }
  for (const t of golden.payouts.policy_terms) {
    const got = outcome(
      () => policyTerm(big(t.now), big(t.activation_delay), big(t.days)),
      (x) => ({ activation_time: str(x.activationTime), end_time: str(x.endTime) }),
    );
    assert.deepEqual(got, t.term, JSON.stringify(t));
  }
});

test('real policies of triggered markets: the payout settlement made, haircut and ineligible included', () => {
  const payouts = new Set<string>();
  for (const s of golden.settled_policies) {
    const market = decodeMarketData(fromHex(s.market));
    const policy = decodePolicyData(fromHex(s.policy));
    assert.equal(expectedPayout(policy, market)?.payout.toString(), s.payout, s.label);
    // eligibility as the Rust story set it up (its label), not as the client computes it
    const eligible = !s.label.includes('not eligible');
    assert.equal(eligible, s.payout !== '0', `${s.label}: settlement paid every eligible policy something`);
    // at the trigger: in force when the streak began → claimable; ended before it → ended
    const phase = policyPhase(policy, market.event.triggerTime, market);
    assert.equal(phase, eligible ? 'claimable' : 'ended', s.label);
    payouts.add(s.payout);
  }
  assert.ok(payouts.has('0') && payouts.size >= 3);
});

test('settled policies read as paid or settled with nothing', () => {
  const vectors = golden.accounts.filter((a: Json) => a.type === 'Policy' && a.fields.status === 'Settled');
  const settled: Policy[] = vectors.map((a: Json): Policy => decodeAccountData('Policy', fromHex(a.data)));
  // the expectation from the fields Rust decoded, at any time (a settled policy's phase never changes)
  const want = vectors.map((a: Json) => (a.fields.payout !== '0' ? 'paid' : 'settled'));
  assert.deepEqual(settled.map((p) => policyPhase(p, 0n)), want);
  assert.deepEqual(settled.map((p) => policyPhase(p, 1n << 62n)), want);
  assert.ok(want.includes('paid') && want.includes('settled'), 'both kinds among the vectors');
  const active = decodeAccountData('Policy', fromHex(golden.accounts.find((a: Json) => a.type === 'Policy' && a.fields.status === 'Active').data));
  assert.equal(policyPhase(active, active.activationTime - 1n), 'pending');
  assert.equal(policyPhase(active, active.activationTime), 'active');
  assert.equal(policyPhase(active, active.endTime), 'ended');
});

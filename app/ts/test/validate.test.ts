// Builders refuse, before anything is sent, what the program would refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildBuyCover, buildDeposit, buildWithdraw } from '../src/instructions';
import {
  checkCoverAmount,
  checkCoverTerm,
  checkPositive,
  checkUint,
  InputError,
  parseTokenAmount,
  parseTolerancePercent,
  parseWholeDays,
} from '../src/validate';
import { addr, big, golden, signer, type Json } from './golden';

const vector = (name: string) => golden.instructions.find((v: Json) => v.name === name).inputs;
const keys = (k: Json) => ({ pool: addr(k.pool), collateralMint: addr(k.collateral_mint), tokenProgram: addr(k.token_program) });

const refused = (rule: string, field: string) => (e: unknown) => {
  assert.ok(e instanceof InputError, String(e));
  assert.deepEqual([e.rule, e.field], [rule, field]);
  return true;
};

test('buy cover: days outside 1..365, cover below one whole token, values past u64', async () => {
  const i = vector('buy_cover');
  const base = {
    buyer: signer(i.buyer),
    keys: keys(i.keys),
    market: addr(i.market),
    policyId: 0n,
    payerCollateral: addr(i.payer_collateral),
    priceUpdate: addr(i.price_update),
    amount: 1_000_000n,
    days: 30,
    maxPremium: 10n,
    decimals: 6,
  };
  await buildBuyCover(base);
  await assert.rejects(buildBuyCover({ ...base, days: 0 }), refused('InvalidCoverTerm', 'days'));
  await assert.rejects(buildBuyCover({ ...base, days: 366 }), refused('InvalidCoverTerm', 'days'));
  await assert.rejects(buildBuyCover({ ...base, days: 1.5 }), refused('InvalidCoverTerm', 'days'));
  await assert.rejects(buildBuyCover({ ...base, amount: 0n }), refused('InvalidCoverAmount', 'amount'));
  await assert.rejects(buildBuyCover({ ...base, amount: 999_999n }), refused('InvalidCoverAmount', 'amount'));
  await assert.rejects(buildBuyCover({ ...base, amount: 1n << 64n }), refused('OutOfRange', 'amount'));
  await assert.rejects(buildBuyCover({ ...base, maxPremium: -1n }), refused('OutOfRange', 'maxPremium'));
});

test('deposit and withdraw: amount 0, a tranche the pool does not have', async () => {
  const i = vector('deposit');
  const base = {
    staker: signer(i.staker),
    keys: keys(i.keys),
    tranche: 1,
    stakerCollateral: addr(i.staker_collateral),
    stakerShares: addr(i.staker_shares),
    amount: big(i.amount),
    minShares: 0n,
  };
  await buildDeposit(base);
  await assert.rejects(buildDeposit({ ...base, amount: 0n }), refused('ZeroAmount', 'amount'));
  await assert.rejects(buildDeposit({ ...base, tranche: 4 }), refused('InvalidTranche', 'tranche'));
  await assert.rejects(buildDeposit({ ...base, tranche: 2, trancheCount: 2 }), refused('InvalidTranche', 'tranche'));
  await assert.rejects(buildDeposit({ ...base, tranche: -1 }), refused('InvalidTranche', 'tranche'));
  const w = vector('withdraw');
  const withdraw = {
    staker: signer(w.staker),
    keys: keys(w.keys),
    stakerCollateral: addr(w.staker_collateral),
    priceUpdates: [],
  };
  await assert.rejects(buildWithdraw({ ...withdraw, tranche: 3, trancheCount: 2 }), refused('InvalidTranche', 'tranche'));
});

test('typed amounts: "1,5" is not 15, decimals past the mint, empty and malformed text are named refusals', () => {
  assert.equal(parseTokenAmount('amount', ' 1 250.5 ', 6), 1_250_500_000n);
  assert.equal(parseTokenAmount('amount', '7', 6), 7_000_000n);
  assert.equal(parseTokenAmount('amount', '0.000001', 6), 1n);
  assert.equal(parseTokenAmount('amount', '3.', 6), 3_000_000n);
  assert.throws(() => parseTokenAmount('amount', '1,5', 6), refused('AmbiguousSeparator', 'amount'));
  assert.throws(() => parseTokenAmount('amount', '1,000', 6), refused('AmbiguousSeparator', 'amount'));
  assert.throws(() => parseTokenAmount('amount', '0.0000001', 6), refused('TooManyDecimals', 'amount'));
  assert.throws(() => parseTokenAmount('amount', '', 6), refused('Required', 'amount'));
  assert.throws(() => parseTokenAmount('amount', '   ', 6), refused('Required', 'amount'));
  for (const bad of ['0x1e', '1e3', '-5', '.5', 'abc', '1.2.3', 'Infinity']) {
    assert.throws(() => parseTokenAmount('amount', bad, 6), refused('InvalidNumber', 'amount'), bad);
  }
  assert.throws(() => parseTokenAmount('amount', '18446744073709.551616', 6), refused('OutOfRange', 'amount'));
});

test('typed days: digits only (not hex, exponents or fractions), 1 to 365', () => {
  assert.equal(parseWholeDays(' 30 '), 30);
  assert.equal(parseWholeDays('365'), 365);
  for (const bad of ['0x1e', '3e1', '30.5', '30.0', '-1', '+30', 'thirty']) {
    assert.throws(() => parseWholeDays(bad), refused('InvalidNumber', 'days'), bad);
  }
  assert.throws(() => parseWholeDays(''), refused('Required', 'days'));
  assert.throws(() => parseWholeDays('0'), refused('InvalidCoverTerm', 'days'));
  assert.throws(() => parseWholeDays('366'), refused('InvalidCoverTerm', 'days'));
});

test('typed tolerance: empty is not 0 %, 0 to 100 % in basis points', () => {
  assert.equal(parseTolerancePercent('0.5'), 50n);
  assert.equal(parseTolerancePercent('0'), 0n);
  assert.equal(parseTolerancePercent('100'), 10_000n);
  assert.throws(() => parseTolerancePercent(''), refused('Required', 'tolerance'));
  assert.throws(() => parseTolerancePercent('100.01'), refused('OutOfRange', 'tolerance'));
  assert.throws(() => parseTolerancePercent('0.001'), refused('TooManyDecimals', 'tolerance'));
  assert.throws(() => parseTolerancePercent('0,5'), refused('AmbiguousSeparator', 'tolerance'));
  assert.throws(() => parseTolerancePercent('-1'), refused('InvalidNumber', 'tolerance'));
});

test('a fractional or non-finite number is a named refusal, not a RangeError from BigInt()', () => {
  for (const bad of [1.5, NaN, Infinity, -0.5]) {
    assert.throws(() => checkUint('amount', bad, 64), refused('OutOfRange', 'amount'), String(bad));
    assert.throws(() => checkPositive('amount', bad), refused('OutOfRange', 'amount'), String(bad));
    assert.throws(() => checkCoverAmount(bad, 6), refused('OutOfRange', 'amount'), String(bad));
  }
  assert.throws(() => checkCoverTerm(NaN), refused('InvalidCoverTerm', 'days'));
});

// Builders refuse, before anything is sent, what the program would refuse.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildBuyCover, buildDeposit, buildWithdraw } from '../src/instructions';
import { InputError } from '../src/validate';
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

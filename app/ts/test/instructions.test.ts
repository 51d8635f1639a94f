// Every instruction of the IDL: the bytes and account metas the Rust SDK
// (`coverage_sdk::ix`) builds, rebuilt by the generated builders and by the
// hand-written ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AccountRole, type Instruction } from '@solana/kit';
import * as generated from '../src/generated';
import * as ix from '../src/instructions';
import type { PoolKeys } from '../src/pdas';
import { addr, big, fromHex, golden, idl, signer, toHex, type Json } from './golden';

const pascal = (s: string) => s.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The instruction as the vectors write it. */
function asVector(i: Instruction) {
  return {
    program_id: i.programAddress,
    accounts: (i.accounts ?? []).map((m) => ({
      address: m.address,
      signer: m.role === AccountRole.READONLY_SIGNER || m.role === AccountRole.WRITABLE_SIGNER,
      writable: m.role === AccountRole.WRITABLE || m.role === AccountRole.WRITABLE_SIGNER,
    })),
    data: toHex(i.data ?? new Uint8Array()),
  };
}

const expected = (v: Json) => ({
  program_id: v.program_id,
  accounts: v.accounts.map((a: Json) => ({ address: a.address, signer: a.signer, writable: a.writable })),
  data: v.data,
});

test('the vectors cover every instruction of the IDL', () => {
  const names = new Set(golden.instructions.map((v: Json) => v.name));
  assert.deepEqual([...names].sort(), idl.instructions.map((i: Json) => i.name).sort());
});

test('the generated client uses the IDL program id', () => {
  assert.equal(generated.COVERAGE_POOL_PROGRAM_ADDRESS, golden.program_id);
  assert.equal(idl.address, golden.program_id);
});

test('generated builders: accounts by name + the decoded data rebuild the Rust bytes', () => {
  const g = generated as unknown as Record<string, () => Json>;
  for (const v of golden.instructions) {
    const decoder = g[`get${pascal(v.name)}InstructionDataDecoder`];
    const build = g[`get${pascal(v.name)}Instruction`] as unknown as (input: Json) => Instruction;
    assert.ok(decoder && build, `generated builder of ${v.name}`);
    const args = decoder().decode(fromHex(v.data));
    const accounts: Record<string, Json> = {};
    for (const a of v.accounts.filter((a: Json) => a.name)) {
      accounts[camel(a.name)] = a.signer ? signer(a.address) : addr(a.address);
    }
    const built = asVector(build({ ...accounts, ...args }));
    // the generated builder knows the IDL's named accounts only: it must give exactly those; the
    // vector's remaining accounts (unnamed, after them) are then appended — never padded from the
    // vector up to whatever length the builder gave, which would hide a missing account
    const named = v.accounts.filter((a: Json) => a.name).length;
    assert.equal(built.accounts.length, named, `${v.name}: the named accounts`);
    assert.ok(v.accounts.slice(named).every((a: Json) => !a.name), `${v.name}: named accounts first`);
    built.accounts.push(...expected(v).accounts.slice(named));
    assert.deepEqual(built, expected(v), v.name);
  }
});

const keys = (k: Json): PoolKeys => ({
  pool: addr(k.pool),
  collateralMint: addr(k.collateral_mint),
  tokenProgram: addr(k.token_program),
});
const curve = (c: Json) => ({
  baseRateBps: c.base_rate_bps,
  slopeBelowKinkBps: c.slope_below_kink_bps,
  slopeAboveKinkBps: c.slope_above_kink_bps,
  kinkUtilizationBps: c.kink_utilization_bps,
});

/** The hand-written builder of each instruction, from the Rust builder's inputs. */
const BUILDERS: Record<string, (i: Json) => Promise<Instruction>> = {
  initialize_pool: (i) =>
    ix.buildInitializePool({
      creator: signer(i.creator),
      collateralMint: addr(i.collateral_mint),
      treasury: addr(i.treasury),
      tokenProgram: addr(i.token_program),
      args: {
        poolId: big(i.args.pool_id),
        authority: addr(i.args.authority),
        trancheWeightsBps: i.args.tranche_weights_bps,
        cooldown: i.args.cooldown,
        withdrawWindow: i.args.withdraw_window,
        maxLeverageBps: i.args.max_leverage_bps,
        protocolFeeBps: i.args.protocol_fee_bps,
      },
    }),
  initialize_tranche: (i) => ix.buildInitializeTranche({ payer: signer(i.payer), keys: keys(i.keys), tranche: i.tranche }),
  create_market: (i) =>
    ix.buildCreateMarket({
      authority: signer(i.authority),
      payer: signer(i.payer),
      pool: addr(i.pool),
      index: i.index,
      args: {
        feedId: fromHex(i.args.feed_id),
        strike: big(i.args.strike),
        recovery: big(i.args.recovery),
        duration: i.args.duration,
        maxGap: i.args.max_gap,
        maxPriceAge: i.args.max_price_age,
        maxConfBps: i.args.max_conf_bps,
        payout:
          i.args.payout.kind === 'Binary'
            ? { __kind: 'Binary' }
            : { __kind: 'Linear', floorPrice: big(i.args.payout.floor_price) },
        curve: curve(i.args.curve),
        allocationBps: i.args.allocation_bps,
        activationDelay: i.args.activation_delay,
      },
    }),
  collect_fees: (i) => ix.buildCollectFees({ authority: signer(i.authority), keys: keys(i.keys), treasury: addr(i.treasury) }),
  set_pool_paused: (i) => ix.buildSetPoolPaused({ authority: signer(i.authority), pool: addr(i.pool), paused: i.paused }),
  set_market_paused: (i) =>
    ix.buildSetMarketPaused({ authority: signer(i.authority), pool: addr(i.pool), market: addr(i.market), paused: i.paused }),
  reopen_market: (i) => ix.buildReopenMarket({ authority: signer(i.authority), pool: addr(i.pool), market: addr(i.market) }),
  close_market: (i) => ix.buildCloseMarket({ authority: signer(i.authority), pool: addr(i.pool), market: addr(i.market) }),
  propose_authority: (i) =>
    ix.buildProposeAuthority({ authority: signer(i.authority), pool: addr(i.pool), newAuthority: addr(i.new_authority) }),
  accept_authority: (i) => ix.buildAcceptAuthority({ newAuthority: signer(i.new_authority), pool: addr(i.pool) }),
  queue_pool_params: (i) =>
    ix.buildQueuePoolParams({
      authority: signer(i.authority),
      pool: addr(i.pool),
      change: {
        protocolFeeBps: i.change.protocol_fee_bps,
        maxLeverageBps: i.change.max_leverage_bps,
        cooldown: i.change.cooldown,
        withdrawWindow: i.change.withdraw_window,
        weightsBps: i.change.weights_bps,
      },
    }),
  cancel_pool_params: (i) => ix.buildCancelPoolParams({ authority: signer(i.authority), pool: addr(i.pool) }),
  apply_pool_params: (i) => ix.buildApplyPoolParams({ pool: addr(i.pool) }),
  queue_market_params: (i) =>
    ix.buildQueueMarketParams({
      authority: signer(i.authority),
      pool: addr(i.pool),
      market: addr(i.market),
      change: {
        curve: curve(i.change.curve),
        allocationBps: i.change.allocation_bps,
        activationDelay: i.change.activation_delay,
      },
    }),
  cancel_market_params: (i) =>
    ix.buildCancelMarketParams({ authority: signer(i.authority), pool: addr(i.pool), market: addr(i.market) }),
  apply_market_params: (i) => ix.buildApplyMarketParams({ pool: addr(i.pool), market: addr(i.market) }),
  buy_cover: (i) =>
    ix.buildBuyCover({
      buyer: signer(i.buyer),
      payer: i.payer === i.buyer ? undefined : signer(i.payer),
      keys: keys(i.keys),
      market: addr(i.market),
      policyId: big(i.policy_id),
      payerCollateral: addr(i.payer_collateral),
      priceUpdate: addr(i.price_update),
      amount: big(i.amount),
      days: i.days,
      maxPremium: big(i.max_premium),
    }),
  transfer_policy: (i) =>
    ix.buildTransferPolicy({ owner: signer(i.owner), policy: addr(i.policy), newOwner: addr(i.new_owner) }),
  close_policy: (i) => ix.buildClosePolicy({ owner: addr(i.owner), policy: addr(i.policy), market: addr(i.market) }),
  deposit: (i) =>
    ix.buildDeposit({
      staker: signer(i.staker),
      keys: keys(i.keys),
      tranche: i.tranche,
      stakerCollateral: addr(i.staker_collateral),
      stakerShares: addr(i.staker_shares),
      amount: big(i.amount),
      minShares: big(i.min_shares),
    }),
  request_withdrawal: (i) =>
    ix.buildRequestWithdrawal({
      staker: signer(i.staker),
      keys: keys(i.keys),
      tranche: i.tranche,
      stakerShares: addr(i.staker_shares),
      shares: big(i.shares),
    }),
  cancel_withdrawal: (i) =>
    ix.buildCancelWithdrawal({
      staker: signer(i.staker),
      keys: keys(i.keys),
      tranche: i.tranche,
      request: i.request === undefined ? undefined : addr(i.request),
      stakerShares: addr(i.staker_shares),
    }),
  withdraw: (i) =>
    ix.buildWithdraw({
      staker: signer(i.staker),
      keys: keys(i.keys),
      tranche: i.tranche,
      request: i.request === undefined ? undefined : addr(i.request),
      stakerCollateral: addr(i.staker_collateral),
      priceUpdates: i.price_updates.map(addr),
    }),
  check_trigger: (i) => ix.buildCheckTrigger({ market: addr(i.market), pool: addr(i.pool), priceUpdate: addr(i.price_update) }),
  accrue_premium: (i) => ix.buildAccruePremium({ pool: addr(i.pool) }),
  settle_policies: (i) =>
    ix.buildSettlePolicies({
      keys: keys(i.keys),
      market: addr(i.market),
      pairs: i.pairs.map(([p, t]: [string, string]) => [addr(p), addr(t)] as const),
    }),
  release_reserve: (i) => ix.buildReleaseReserve({ pool: addr(i.pool), market: addr(i.market) }),
};

test('hand-written builders: the Rust builders\' inputs give the Rust bytes', async () => {
  assert.deepEqual(Object.keys(BUILDERS).sort(), idl.instructions.map((i: Json) => i.name).sort());
  for (const v of golden.instructions) {
    const built = asVector(await BUILDERS[v.name]!(v.inputs));
    assert.deepEqual(built, expected(v), `${v.name} ${JSON.stringify(v.inputs).slice(0, 80)}`);
  }
});

test('cancel_withdrawal and withdraw default to the staker\'s own request', async () => {
  for (const name of ['cancel_withdrawal', 'withdraw']) {
    const v = golden.instructions.find((x: Json) => x.name === name);
    const { request: _, ...rest } = v.inputs;
    assert.deepEqual(asVector(await BUILDERS[name]!(rest)), expected(v), name);
  }
});

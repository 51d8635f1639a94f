// The client alone against `cover localnet` (the real program behind the real
// JSON-RPC wire format): deposits with a min-shares bound, a withdrawal request
// then its redemption after the cooldown, cover bought with a max-premium bound
// at exactly the quoted premium, the owner's policies listed with
// getProgramAccounts filters, and refused purchases read back by name with
// nothing changed. Transactions are confirmed both ways: kit's websocket
// confirmation and polling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  address,
  type Address,
  type KeyPairSigner,
} from '@solana/kit';
import { fetchMint, fetchToken, findAssociatedTokenPda, getCreateAssociatedTokenIdempotentInstructionAsync } from '@solana-program/token';
import {
  accruePool,
  assetsForShares,
  buildBuyCover,
  buildDeposit,
  buildRequestWithdrawal,
  buildWithdraw,
  decodeProgramError,
  explainProgramError,
  fetchDecoded,
  fetchPolicies,
  fetchQuoteAccounts,
  fetchUnixTimestamp,
  fetchWithdrawPriceUpdates,
  findShareMintPda,
  findWithdrawalRequestPda,
  marketCapacity,
  policyPhase,
  pushFeedAddress,
  quotePremium,
  redemptionValue,
  sendInstructions,
  sharesForDeposit,
  withdrawalWindow,
  type PoolKeys,
} from '../src';
import { fund, newKeypairBytes, startLocalnet, type Localnet } from './localnet';

const USDC = 1_000_000n;
const SOL = 1_000_000_000n;

async function wallet(net: Localnet, collateral: bigint): Promise<KeyPairSigner> {
  const signer = await createKeyPairSignerFromBytes(newKeypairBytes());
  await fund(net, signer.address, 10n * SOL, collateral);
  return signer;
}

test('the TypeScript client alone against cover localnet', { timeout: 240_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  const rpc = createSolanaRpc(net.info.rpc);
  const rpcSubscriptions = createSolanaRpcSubscriptions(net.info.ws);
  const websocket = { rpcSubscriptions };
  const poolAddress = address(net.info.pool);
  const [market0, market1] = net.info.markets.map((m) => address(m.address)) as [Address, Address];
  const [pool0] = await fetchDecoded(rpc, [['Pool', poolAddress]] as const);
  const keys: PoolKeys = { pool: poolAddress, collateralMint: pool0!.collateralMint, tokenProgram: pool0!.tokenProgram };
  const ata = async (owner: Address, mint: Address) => (await findAssociatedTokenPda({ owner, mint, tokenProgram: keys.tokenProgram }))[0];
  const balance = async (account: Address) => (await fetchToken(rpc, account)).data.amount;
  const pool = async () => (await fetchDecoded(rpc, [['Pool', poolAddress]] as const))[0]!;

  // ---- deposits: 100 000 USDC into each tranche, bounded by the shares the client previews
  const staker = await wallet(net, 300_000n * USDC);
  const stakerCollateral = await ata(staker.address, keys.collateralMint);
  const shareAccounts: Address[] = [];
  for (const tranche of [0, 1]) {
    const [shareMint] = await findShareMintPda(poolAddress, tranche);
    const stakerShares = await ata(staker.address, shareMint);
    shareAccounts.push(stakerShares);
    const amount = 100_000n * USDC;
    const before = await pool();
    const supply = (await fetchMint(rpc, shareMint)).data.supply;
    const { shares } = sharesForDeposit(amount, before.tranches[tranche]!.assets, supply + before.tranches[tranche]!.deadShares);
    const createShares = await getCreateAssociatedTokenIdempotentInstructionAsync({
      payer: staker, owner: staker.address, mint: shareMint, tokenProgram: keys.tokenProgram,
    });
    const deposit = await buildDeposit({ staker, keys, tranche, trancheCount: before.trancheCount, stakerCollateral, stakerShares, amount, minShares: shares });
    await sendInstructions(rpc, staker, [createShares, deposit], tranche === 0 ? websocket : {});
    assert.equal(await balance(stakerShares), shares, `tranche ${tranche}: the shares previewed are the shares minted`);
    assert.equal((await pool()).tranches[tranche]!.assets, amount);
  }
  assert.equal(await balance(stakerCollateral), 100_000n * USDC);

  // a deposit asking for one share more than it gets is refused by name
  {
    const p = await pool();
    const [shareMint] = await findShareMintPda(poolAddress, 0);
    const supply = (await fetchMint(rpc, shareMint)).data.supply;
    const { shares } = sharesForDeposit(1_000n * USDC, p.tranches[0]!.assets, supply + p.tranches[0]!.deadShares);
    const greedy = await buildDeposit({ staker, keys, tranche: 0, stakerCollateral, stakerShares: shareAccounts[0]!, amount: 1_000n * USDC, minShares: shares + 1n });
    const e = await sendInstructions(rpc, staker, [greedy]).then(() => assert.fail('sent'), (e: unknown) => e);
    assert.equal(decodeProgramError(e)?.name, 'SlippageExceeded');
  }

  // ---- a withdrawal request of a quarter of tranche 0's shares (polling)
  const requestShares = (await balance(shareAccounts[0]!)) / 4n;
  await sendInstructions(rpc, staker, [await buildRequestWithdrawal({ staker, keys, tranche: 0, stakerShares: shareAccounts[0]!, shares: requestShares })]);
  const [requestAddress] = await findWithdrawalRequestPda(poolAddress, 0, staker.address);
  const [request] = await fetchDecoded(rpc, [['WithdrawalRequest', requestAddress]] as const);
  const [shareMint0] = await findShareMintPda(poolAddress, 0);
  const p1 = await pool();
  const total0 = (await fetchMint(rpc, shareMint0)).data.supply + p1.tranches[0]!.deadShares;
  assert.equal(request!.shares, requestShares);
  assert.equal(request!.valueAtRequest, assetsForShares(requestShares, p1.tranches[0]!.assets, total0));
  assert.equal(request!.staker, staker.address);
  const window = withdrawalWindow(request!);
  assert.equal(window.opensAt, request!.requestedAt + BigInt(p1.cooldown));

  // ---- cover: 10 000 USDC for 30 days at the quoted premium, the bound equal to the quote
  const buyer = await wallet(net, 50_000n * USDC);
  const buyerCollateral = await ata(buyer.address, keys.collateralMint);
  const buy = async (marketAddress: Address, amount: bigint, days: number, maxPremium: (premium: bigint) => bigint, confirm = {}) => {
    const accounts = await fetchQuoteAccounts(rpc, poolAddress, marketAddress);
    const now = await fetchUnixTimestamp(rpc);
    let premium: bigint | undefined;
    try {
      premium = quotePremium(accounts, amount, days, now);
    } catch {
      // the client refuses to quote (e.g. over capacity): send anyway, the program must refuse too
    }
    const ix = await buildBuyCover({
      buyer, keys, market: marketAddress, policyId: accounts.market.policyCount, payerCollateral: buyerCollateral,
      priceUpdate: await pushFeedAddress(accounts.market.feedId), amount, days, maxPremium: maxPremium(premium ?? 0n), decimals: 6,
    });
    return { accounts, now, premium, send: () => sendInstructions(rpc, buyer, [ix], confirm) };
  };
  const before = await balance(buyerCollateral);
  const first = await buy(market0, 10_000n * USDC, 30, (p) => p, websocket);
  await first.send();
  const [policy] = await fetchPolicies(rpc, { owner: buyer.address });
  assert.ok(policy, 'the policy is listed by owner');
  // the premium charged is the client's quote at the purchase's clock, to the unit
  assert.equal(policy.data.premium, quotePremium(first.accounts, 10_000n * USDC, 30, policy.data.purchasedAt));
  assert.equal(before - (await balance(buyerCollateral)), policy.data.premium);
  assert.equal(policy.data.amount, 10_000n * USDC);
  assert.equal(policy.data.market, market0);
  assert.equal(policyPhase(policy.data, await fetchUnixTimestamp(rpc)), 'pending');

  // a second policy on the other market (polling), then the filters: by owner, by market, by both
  await (await buy(market1, 2_000n * USDC, 7, (p) => p + p / 100n)).send();
  const other = await wallet(net, 10_000n * USDC);
  await sendInstructions(rpc, other, [
    await buildBuyCover({
      buyer: other, keys, market: market0, policyId: (await fetchQuoteAccounts(rpc, poolAddress, market0)).market.policyCount,
      payerCollateral: await ata(other.address, keys.collateralMint), priceUpdate: address(net.info.markets[0]!.feed_account),
      amount: 1_000n * USDC, days: 3, maxPremium: 1_000n * USDC, decimals: 6,
    }),
  ]);
  const byOwner = await fetchPolicies(rpc, { owner: buyer.address });
  assert.deepEqual(byOwner.map((p) => [p.data.market, p.data.amount]).sort(), [[market0, 10_000n * USDC], [market1, 2_000n * USDC]].sort());
  assert.equal((await fetchPolicies(rpc, { market: market0 })).length, 2);
  assert.equal((await fetchPolicies(rpc, { owner: buyer.address, market: market1 })).length, 1);
  assert.equal((await fetchPolicies(rpc, { owner: other.address, market: market1 })).length, 0);

  // ---- refusals, by name, with nothing changed
  const unchanged = async () => ({
    collateral: await balance(buyerCollateral),
    policies: (await fetchPolicies(rpc, { owner: buyer.address })).length,
    count: (await fetchQuoteAccounts(rpc, poolAddress, market0)).market.policyCount,
  });
  const state = await unchanged();
  // premium above the bound: one unit less than the quote
  const tight = await buy(market0, 5_000n * USDC, 30, (p) => p - 1n);
  const e1 = await tight.send().then(() => assert.fail('sent'), (e: unknown) => e);
  const premiumAboveMax = decodeProgramError(e1);
  assert.equal(premiumAboveMax?.name, 'PremiumAboveMax');
  // over capacity: more than is left on the market (the client refuses to quote it too)
  const left = marketCapacity(await fetchQuoteAccounts(rpc, poolAddress, market0), await fetchUnixTimestamp(rpc)).left;
  const greedy = await buy(market0, left + USDC, 30, () => 1_000_000n * USDC, websocket);
  assert.equal(greedy.premium, undefined, 'the client quotes nothing over capacity');
  const e2 = await greedy.send().then(() => assert.fail('sent'), (e: unknown) => e);
  const capacity = decodeProgramError(e2);
  assert.equal(capacity?.name, 'CapacityExceeded');
  const words = explainProgramError(capacity!, { capacityLeft: marketCapacity(greedy.accounts, greedy.now).left, decimals: 6, symbol: 'USDC' });
  assert.match(words, /^Capacity exceeded: at most [\d ]+(\.\d+)? USDC of cover is left on this market\.$/);
  assert.deepEqual(await unchanged(), state);

  // ---- the withdrawal, once the cooldown is over (the clock advanced by the test control)
  const early = await buildWithdraw({
    staker, keys, tranche: 0, stakerCollateral, priceUpdates: await fetchWithdrawPriceUpdates(rpc, poolAddress),
  });
  const e3 = await sendInstructions(rpc, staker, [early]).then(() => assert.fail('sent'), (e: unknown) => e);
  assert.equal(decodeProgramError(e3)?.name, 'CooldownNotElapsed');
  const now = await fetchUnixTimestamp(rpc);
  await net.call('localnet_advanceClock', [Number(window.opensAt - now + 60n)]);
  const afterCooldown = await fetchUnixTimestamp(rpc);
  assert.ok(afterCooldown >= window.opensAt && afterCooldown <= window.lapsesAt);
  // what the request redeems: the lower of its value at request and its value now (premium has accrued meanwhile)
  const { pool: poolNow, ledger: ledgerNow } = await fetchQuoteAccounts(rpc, poolAddress, market0);
  const collateralBefore = await balance(stakerCollateral);
  await sendInstructions(rpc, staker, [
    await buildWithdraw({ staker, keys, tranche: 0, stakerCollateral, priceUpdates: await fetchWithdrawPriceUpdates(rpc, poolAddress) }),
  ], websocket);
  const accrued = accruePool(poolNow, ledgerNow, afterCooldown).pool;
  const due = redemptionValue(requestShares, request!.valueAtRequest, accrued.tranches[0]!.assets, total0);
  assert.equal(due, request!.valueAtRequest, 'no loss meanwhile: the value at request is what is due');
  assert.equal((await balance(stakerCollateral)) - collateralBefore, due);
  assert.equal((await rpc.getAccountInfo(requestAddress).send()).value, null, 'the request is closed');
});

// The SVB depeg of March 2023 replayed into the USDC market's push feed
// (`cover localnet --prices data/usdc-2023-03-svb.csv`), the keeper binary
// running (`cover keeper run`), a staker-buyer on the page: a deposit, three
// USDC policies (30 days, 1 day, and one bought a minute before the depeg
// whose cover starts after it began) and one USDT policy. The clock is moved
// through the series with the localnet control; the keeper reports the
// prices, triggers the market, settles, releases the reserve and closes what
// it may. The page shows the policy paid, the others as they ended, the market
// triggered and the junior tranche's share price fallen: each checked on chain.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createKeyPairSignerFromBytes, createSolanaRpc, type Address } from '@solana/kit';
import { fetchMint, fetchToken, findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { fetchDecoded, fetchUnixTimestamp, findShareMintPda, MarketStatus, sharePriceScaled, type Market, type Pool } from '@coverage-pool/client';
import { REPO, fund, newKeypairBytes, stakeWithCli, startKeeper, startLocalnet, waitFor, writeKeypairFile } from '@coverage-pool/client/testing';
import { openPage, screenshot, stopServer, walletKeypair } from './browser';
import { byTestId, until } from './page';
import type { Page } from 'playwright-core';

const USDC = 1_000_000n;
/** Publish time of the first row of the series whose price + confidence is under the 0.95 strike (2023-03-11 08:30 UTC). */
const DEPEG = 1_678_523_400n;

after(stopServer);

async function buy(page: Page, market: string, amount: string, days: string): Promise<void> {
  await page.locator('[data-testid="tab-buy"]').click();
  await page.getByLabel('Market', { exact: true }).selectOption({ label: market });
  await page.getByLabel('Cover amount (USDC)').fill(amount);
  await page.getByLabel('Days').fill(days);
  await until(page, 'premium', /USDC$/);
  await page.getByRole('button', { name: 'Buy cover' }).click();
  await until(page, 'buy-status', /Purchase: confirmed/);
}

test('the SVB depeg replayed with the keeper running: the policy paid, the junior share price fallen', { timeout: 300_000 }, async (t) => {
  const net = await startLocalnet(['--prices', join(REPO, 'data/usdc-2023-03-svb.csv')]);
  t.after(() => net.stop());
  const rpc = createSolanaRpc(net.info.rpc);
  const poolAddress = net.info.pool as Address;
  const [usdcMarket, usdtMarket] = net.info.markets.map((m) => m.address as Address) as [Address, Address];
  await stakeWithCli(net, 100_000, [0, 1]);
  const keeperKey = newKeypairBytes();
  await fund(net, (await createKeyPairSignerFromBytes(keeperKey)).address, 10_000_000_000n, 0n);
  const keeper = await startKeeper(net, writeKeypairFile(keeperKey), 1);
  t.after(() => keeper.stop());

  const pool = async () => (await fetchDecoded(rpc, [['Pool', poolAddress]] as const))[0] as Pool;
  const market = async (a: Address) => (await fetchDecoded(rpc, [['Market', a]] as const))[0] as Market;
  const { address: me } = await walletKeypair();
  const [myCollateral] = await findAssociatedTokenPda({ owner: me, mint: net.info.mint as Address, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const collateral = async () => (await fetchToken(rpc, myCollateral)).data.amount;
  const [juniorMint] = await findShareMintPda(poolAddress, 0);
  const juniorPrice = async () => {
    const p = await pool();
    return sharePriceScaled(p.tranches[0]!.assets, (await fetchMint(rpc, juniorMint)).data.supply + p.tranches[0]!.deadShares, USDC);
  };

  const s = await openPage(net, { view: 'stake' });
  t.after(() => s.close());
  const { page } = s;
  await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await byTestId(page, 'faucet').click();
  await until(page, 'positions', /Wallet: 100 000 USDC/);

  // a junior stake, then cover: 50 000 USDC for 30 days, 5 000 for a day (over before the depeg), 20 000 USDT
  await page.getByLabel('Amount (USDC)').fill('20000');
  await until(page, 'deposit-preview', /You get/);
  await page.getByRole('button', { name: 'Deposit' }).click();
  await until(page, 'deposit-status', /Deposit: confirmed/);
  await buy(page, 'USDC depeg', '50000', '30');
  await buy(page, 'USDC depeg', '5000', '1');
  await buy(page, 'USDT depeg', '20000', '30');
  await page.locator('[data-testid="tab-pool"]').click();
  const priceBefore = await until(page, 'tranche-0-price', /USDC$/);
  const onChainBefore = await juniorPrice();
  // the page values shares with the premium earned up to its read, the account holds them as of the last instruction
  const close = (shown: string, units: bigint) => Math.abs(Number.parseFloat(shown) - Number(units) / 1e6) <= 2e-6;
  assert.ok(close(priceBefore, onChainBefore), `${priceBefore} vs ${onChainBefore}`);
  await until(page, 'market-0-left', /of/);
  await screenshot(page, 'pool');

  // to 50 s before the depeg's first row: one more policy, whose cover starts after the depeg began
  await net.call('localnet_advanceClock', [Number(DEPEG - 50n - (await fetchUnixTimestamp(rpc)))]);
  // the page has read the new clock (its quote and the purchase's terms use it): its clock shows that minute (or the next)
  const minute = (t: bigint) => new Date(Number(t) * 1000).toISOString().slice(0, 16).replace('T', ' ');
  await until(page, 'clock', new RegExp(`${minute(DEPEG - 50n)}|${minute(DEPEG + 10n)}`));
  await buy(page, 'USDC depeg', '5000', '7');
  const policiesBefore = (await market(usdcMarket)).policyCount;
  assert.equal(policiesBefore, 3n);
  const balanceBefore = await collateral();
  await page.locator('[data-testid="tab-pool"]').click();

  // through the depeg in steps the keeper follows (each observation within the market's 1-hour gap)
  let m = await market(usdcMarket);
  for (let step = 0; m.status !== MarketStatus.Triggered; step++) {
    assert.ok(step < 20, `no trigger after ${step} steps: the market is ${MarketStatus[m.status]}`);
    const { unixTimestamp } = await net.call<{ unixTimestamp: number }>('localnet_advanceClock', [step === 0 ? 60 : 600]);
    m = await waitFor('the keeper to report the new price', async () => {
      const now = await market(usdcMarket);
      return now.lastPublishTime >= BigInt(unixTimestamp) || now.status === MarketStatus.Triggered ? now : undefined;
    }, 30_000);
    if (step === 0) await until(page, 'market-0-status', /^Streak open since 2023-03-11 08:3\d UTC$/);
  }
  assert.ok(m.streakStart >= DEPEG || m.event.streakStart >= DEPEG);
  // the keeper settles every policy of the epoch and releases the reserve
  m = await waitFor('settlement and release', async () => {
    const now = await market(usdcMarket);
    return now.settlement.released ? now : undefined;
  }, 60_000);
  const paid = (await collateral()) - balanceBefore;
  assert.equal(paid, 50_000n * USDC, 'binary payout in full: the 30-day policy was in force, the capital covers it');
  assert.equal(m.settlement.paid, 50_000n * USDC);
  assert.equal(m.settlement.settledPolicies, 2n, 'the 1-day policy had been closed before; the late one settled with zero');
  const priceAfter = await juniorPrice();
  assert.ok(priceAfter < onChainBefore, `junior share price ${onChainBefore} → ${priceAfter}`);
  assert.equal((await market(usdtMarket)).status, MarketStatus.Active);

  // the page: the market triggered, the junior share price fallen
  await until(page, 'market-0-status', /^Triggered 2023-03-11 09:[34]\d UTC$/);
  await until(page, 'market-1-status', /^Active$/);
  // a read after the release: the price shown comes to the chain's
  const shown = await waitFor('the page to show the share price after the release', async () => {
    const text = await until(page, 'tranche-0-price', /USDC$/);
    return close(text, priceAfter) ? text : undefined;
  }, 30_000);
  assert.ok(Number.parseFloat(shown) < Number.parseFloat(priceBefore), `${priceBefore} → ${shown}`);
  await screenshot(page, 'pool-depeg');

  // the policies: paid 50 000 in full, the late one settled with zero, the 1-day one ended, USDT active
  await page.locator('[data-testid="tab-policies"]').click();
  const statuses = async () => (await page.locator('[data-testid="policy-status"]').allTextContents()).map((x) => x.trim());
  await waitFor('the policies on the page', async () => (await statuses()).length === 4 || undefined, 10_000);
  const list = await statuses();
  assert.equal(list.filter((x) => /^Paid 50 000 USDC in full, no haircut$/.test(x)).length, 1, list.join(' | '));
  assert.equal(list.filter((x) => /^Settled with zero/.test(x)).length, 1, list.join(' | '));
  assert.equal(list.filter((x) => /^Ended$/.test(x)).length, 1, list.join(' | '));
  assert.equal(list.filter((x) => /^Active ends in/.test(x)).length, 1, list.join(' | '));
  await screenshot(page, 'policies');
  assert.deepEqual(s.errors, []);
});

// A buyer in headless Chromium against `cover localnet`: the premium quoted
// live as they type is what the program charges, the policy is listed; cover
// beyond capacity is refused live in plain words; a purchase that loses its
// capacity while the wallet is still asking for approval (another staker
// withdraws meanwhile) fails on chain and the page shows the program's named
// error in plain words, with nothing changed; one declined in the wallet says
// so. Then the page on a phone-sized screen, operated with the keyboard alone.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createSolanaRpc, type Address } from '@solana/kit';
import { fetchToken, findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { fetchPolicies, fetchQuoteAccounts, fetchUnixTimestamp, marketCapacity } from '@coverage-pool/client';
import { cover, stakeWithCli, startLocalnet, writeKeypairFile } from '@coverage-pool/client/testing';
import { openPage, screenshot, stopServer, walletKeypair } from './browser';
import { byTestId, until } from './page';

const USDC = 1_000_000n;

after(stopServer);

test('buy at the quoted premium; over capacity refused live and on chain, by name, nothing changed', { timeout: 240_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  await stakeWithCli(net, 100_000, [0, 1]);
  // a staker who will leave: 50 000 in the junior tranche, withdrawal requested, cooldown over
  const leaver = await stakeWithCli(net, 50_000, [0]);
  cover(net, leaver.keypair, ['stake', 'request', '--pool', net.info.pool, '--tranche', '0', '--shares', '50000']);
  await net.call('localnet_advanceClock', [7 * 86_400 + 60]);

  const rpc = createSolanaRpc(net.info.rpc);
  const poolAddress = net.info.pool as Address;
  const market = net.info.markets[0]!.address as Address;
  const { address: me } = await walletKeypair();
  const [myCollateral] = await findAssociatedTokenPda({ owner: me, mint: net.info.mint as Address, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const collateral = async () => (await fetchToken(rpc, myCollateral)).data.amount;

  const s = await openPage(net, { view: 'buy' });
  t.after(() => s.close());
  const { page } = s;
  await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await byTestId(page, 'account').waitFor();

  // ---- before any funds: kit's refusal (the fee payer has no account) named in words, no raw code
  await page.getByLabel('Cover amount (USDC)').fill('1000');
  await until(page, 'premium', /USDC$/);
  await page.getByRole('button', { name: 'Buy cover' }).click();
  const broke = await until(page, 'buy-status', /failed/);
  assert.equal(broke, 'Purchase failed. Your wallet has no SOL to pay the network fee: add SOL and try again.InsufficientSolForFee');
  assert.doesNotMatch(broke, /0x|-?\d{4,}/, 'no raw code');

  await byTestId(page, 'faucet').click();
  await until(page, 'balance', '100 000 USDC');

  // ---- the live quote, then the purchase at that premium
  await page.getByLabel('Market', { exact: true }).selectOption({ label: 'USDC depeg' });
  await page.getByLabel('Days').fill('30');
  await page.getByLabel('Cover amount (USDC)').fill('150000');
  await until(page, 'premium', /USDC$/);
  assert.equal(await byTestId(page, 'buy-status').textContent(), '', 'the failure was of the purchase typed before');
  await screenshot(page, 'buy'); // a large purchase: its stretch of the curve shows
  await page.getByLabel('Cover amount (USDC)').fill('10000');
  await until(page, 'premium', /USDC$/);
  // the exact base units the page quoted, not a reading of its formatted text
  const premium = BigInt((await byTestId(page, 'premium').getAttribute('data-units')) ?? '');
  assert.ok(premium > 0n);
  const before = await collateral();
  await page.getByRole('button', { name: 'Buy cover' }).click();
  await until(page, 'buy-status', /Purchase: confirmed/);
  const [policy] = await fetchPolicies(rpc, { owner: me });
  assert.ok(policy, 'the policy is on chain');
  assert.equal(policy.data.amount, 10_000n * USDC);
  assert.equal(policy.data.premium, premium, 'the program charged the premium the page quoted');
  assert.equal(before - (await collateral()), premium);
  await page.locator('[data-testid="tab-policies"]').click();
  const row = page.locator(`[data-testid="policy-${policy.address}"]`);
  await row.waitFor();
  assert.match(await row.textContent() ?? '', /USDC depeg #0.*10 000 USDC.*Pending activation starts in \d+ (min|s)/);

  // ---- over capacity, as typed: refused by the live quote, in the program's words
  await page.locator('[data-testid="tab-buy"]').click();
  const now = await fetchUnixTimestamp(rpc);
  const left = marketCapacity(await fetchQuoteAccounts(rpc, poolAddress, market), now).left;
  await page.getByLabel('Cover amount (USDC)').fill(String(left / USDC + 1_000n));
  const note = await until(page, 'quote-note', /Capacity exceeded/);
  assert.match(note, /^Capacity exceeded: at most [\d ]+ USDC of cover is left on this market\.$/);
  assert.ok(Math.abs(Number(note.replace(/[^\d]/g, '')) - Number(left / USDC)) <= 1, `${note} vs ${left}`);
  assert.equal(await byTestId(page, 'buy').isDisabled(), true);

  // ---- a purchase within capacity when quoted, whose capacity goes while the wallet asks for approval
  const want = left / USDC - 10_000n; // fits now; not once the leaver's 50 000 are gone
  await page.getByLabel('Cover amount (USDC)').fill(String(want));
  await until(page, 'premium', /USDC$/);
  await page.evaluate(() => (window.testWallet.autoApprove = false));
  await page.getByRole('button', { name: 'Buy cover' }).click();
  await page.waitForFunction(() => window.testWallet.pending === 1);
  cover(net, leaver.keypair, ['stake', 'withdraw', '--pool', net.info.pool, '--tranche', '0']);
  const state = async () => ({
    collateral: await collateral(),
    policies: (await fetchPolicies(rpc, { owner: me })).length,
    count: (await fetchQuoteAccounts(rpc, poolAddress, market)).market.policyCount,
  });
  const unchanged = await state();
  await page.evaluate(() => window.testWallet.approve());
  const status = await until(page, 'buy-status', /failed/);
  const leftAfter = marketCapacity(await fetchQuoteAccounts(rpc, poolAddress, market), await fetchUnixTimestamp(rpc)).left;
  assert.match(status, /^Purchase failed\. Capacity exceeded: at most [\d ]+ USDC of cover is left on this market\.CapacityExceeded$/);
  assert.ok(Math.abs(Number(status.replace(/CapacityExceeded$/, '').replace(/[^\d]/g, '')) - Number(leftAfter / USDC)) <= 1, `${status} vs ${leftAfter}`);
  assert.doesNotMatch(status, /0x|6\d{3}|custom program error/i, 'no raw code');
  assert.deepEqual(await state(), unchanged, 'nothing changed on chain');
  assert.equal(await page.evaluate(() => window.testWallet.signed), 3, 'the wallet signed the three purchases (the one without SOL, two with)');
  await screenshot(page, 'buy-refused', { fullPage: false });
  assert.ok(s.websockets.some((u) => u.startsWith(net.info.ws)), `confirmed over the websocket: ${s.websockets}`);

  // declined in the wallet: said so, nothing sent
  await page.getByLabel('Cover amount (USDC)').fill('1000');
  await until(page, 'premium', /USDC$/);
  await page.getByRole('button', { name: 'Buy cover' }).click();
  await page.waitForFunction(() => window.testWallet.pending === 1);
  await page.evaluate(() => window.testWallet.reject());
  assert.equal(await until(page, 'buy-status', /failed/), 'Purchase failed. You declined the request in your wallet: nothing was sent.');
  assert.deepEqual(await state(), unchanged);

  // ---- the policy transferred away: it still exists, so it is not shown as closed — it leaves the list
  await page.locator('[data-testid="tab-policies"]').click();
  await row.waitFor();
  cover(net, writeKeypairFile((await walletKeypair()).bytes), ['cover', 'transfer', '--policy', policy.address, '--to', leaver.owner]);
  await until(page, 'policies', 'No policies yet');
  assert.equal(await row.count(), 0);

  // ---- a corrupt memory of policies in this browser: forgotten, the page still works
  await page.evaluate(() => {
    for (const k of Object.keys(localStorage)) if (k.startsWith('coverage-pool:policies:')) localStorage.setItem(k, '{not json');
  });
  await page.reload();
  await page.waitForSelector('body[data-loaded="true"]');
  if (!(await byTestId(page, 'account').count())) await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await page.locator('[data-testid="tab-policies"]').click();
  await until(page, 'policies', 'No policies yet');
  assert.deepEqual(s.errors.filter((e) => !e.includes('Failed to load resource')), []);
});

test('a phone-sized screen, with the keyboard alone: connect, quote, labelled controls', { timeout: 120_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  await stakeWithCli(net, 100_000, [0, 1]);
  const s = await openPage(net, { view: 'pool', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  t.after(() => s.close());
  const { page } = s;
  // nothing wider than the screen
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scrolling');
  await screenshot(page, 'phone-pool', { docs: false });

  // Tab through the header to the wallet and connect with Enter
  const focused = async () => page.evaluate(() => {
    const e = document.activeElement as HTMLElement | null;
    return e ? `${e.tagName}:${e.getAttribute('data-testid') ?? ''}:${e.textContent?.trim() ?? ''}` : '';
  });
  const tabTo = async (match: RegExp, limit = 30) => {
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press('Tab');
      if (match.test(await focused())) return;
    }
    throw new Error(`${match} is not reachable with Tab (last: ${await focused()})`);
  };
  await tabTo(/^BUTTON:connect:/);
  await page.keyboard.press('Enter');
  await byTestId(page, 'account').waitFor();
  await tabTo(/^BUTTON:faucet:/, 5);
  // the page reads the cluster every 2 s (4 requests a read, the next read only after the last is shown):
  // after 6 requests at least one read has been rendered, and the focus is still on the button
  for (let i = 0; i < 6; i++) await page.waitForResponse((r) => /getMultipleAccounts/.test(r.request().postData() ?? ''), { timeout: 10_000 });
  assert.match(await focused(), /^BUTTON:faucet:/, 'a refresh keeps the keyboard focus');
  await page.keyboard.press('Enter');
  await until(page, 'balance', '100 000 USDC');
  await tabTo(/^A:tab-buy:/);
  await page.keyboard.press('Enter');
  await page.getByLabel('Cover amount (USDC)').waitFor();
  assert.match(await focused(), /^A:tab-buy:/, 'the tab keeps the focus');
  await tabTo(/^SELECT::/, 2); // the form follows the tabs: the market, then the amount
  await tabTo(/^INPUT::/, 1);
  for (const label of ['Market', 'Cover amount (USDC)', 'Days', 'Tolerance (%)']) {
    assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, `a control labelled ${label}`);
  }
  await page.getByLabel('Cover amount (USDC)').focus();
  await page.keyboard.type('2500');
  const premium = await until(page, 'premium', /USDC$/);
  assert.match(premium, /^\d+\.\d{6} USDC$/);

  // what a person may type wrongly is refused by name, never read as another number
  const typed = async (label: string, text: string) => {
    await page.getByLabel(label, { exact: true }).fill(text);
    return until(page, 'quote-note', /./);
  };
  assert.equal(await typed('Cover amount (USDC)', '1,5'), 'Write the amount with a point for decimals and no thousands separators, not "1,5".');
  assert.equal(await typed('Cover amount (USDC)', '2500.1234567'), 'The amount has at most 6 decimals, not 7.');
  await page.getByLabel('Cover amount (USDC)').fill('2500');
  assert.equal(await typed('Days', '0x1e'), 'Days must be a whole number in digits, not "0x1e".');
  assert.equal(await typed('Days', ''), 'Enter the number of days.');
  await page.getByLabel('Days').fill('30');
  assert.equal(await typed('Tolerance (%)', ''), 'Enter the tolerance.');
  assert.equal(await typed('Tolerance (%)', '101'), 'The tolerance is from 0 to 100 %, not 101 %.');
  assert.equal(await byTestId(page, 'buy').isDisabled(), true);
  await page.getByLabel('Tolerance (%)').fill('1');
  await until(page, 'premium', /USDC$/);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scrolling');
  await screenshot(page, 'phone-buy');
  assert.deepEqual(s.errors, []);
});

test('a wallet on another network: the page refuses to send, by name, and the wallet is never asked', { timeout: 120_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  await stakeWithCli(net, 100_000, [0]);
  const s = await openPage(net, { view: 'buy', walletChain: 'solana:devnet' });
  t.after(() => s.close());
  const { page } = s;
  // the header names the cluster the RPC serves, from its genesis hash
  await until(page, 'network', 'localnet');
  await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await byTestId(page, 'faucet').click();
  await until(page, 'balance', '100 000 USDC');
  await page.getByLabel('Cover amount (USDC)').fill('1000');
  await until(page, 'premium', /USDC$/);
  await page.getByRole('button', { name: 'Buy cover' }).click();
  const status = await until(page, 'buy-status', /failed/);
  assert.equal(
    status,
    "Purchase failed. Your wallet account is on solana:devnet, but this page's cluster is solana:localnet: switch the wallet to localnet " +
      "(or open the page for the wallet's cluster); nothing was sent.WalletChainMismatch",
  );
  assert.equal(await page.evaluate(() => window.testWallet.signed), 0, 'the wallet was never asked to sign');
  const rpc = createSolanaRpc(net.info.rpc);
  assert.deepEqual(await fetchPolicies(rpc, { owner: (await walletKeypair()).address }), []);

  // ---- the market's state as buy_cover's checks see it (the client's check_sale), prices in any exponent
  const feed = net.info.markets[0]!.feed_id;
  await page.locator('[data-testid="tab-pool"]').click();
  await until(page, 'market-0-status', /^Active$/);
  const now = await fetchUnixTimestamp(rpc);
  await net.call('localnet_setPrice', [feed, { price: 100_000, conf: 1, exponent: -5, publishTime: Number(now) - 3_600 }]);
  assert.equal(await until(page, 'market-0-status', /^Not selling/), "Not selling: oracle price is older than the market's max price age");
  await net.call('localnet_setPrice', [feed, { price: 94_000, conf: 0, exponent: -5 }]);
  await until(page, 'market-0-price', '$0.9400');
  assert.match(await until(page, 'market-0-status', /^Not selling/), /strike/i);
  assert.equal(await page.locator('[data-testid="market-0-price"] .bad-text').count(), 1, 'below the strike, read in price units whatever the exponent');
  await net.call('localnet_setPrice', [feed, { price: 100_000, conf: 1, exponent: -5 }]);
  await until(page, 'market-0-status', /^Active$/);
  assert.equal(await page.locator('[data-testid="market-0-price"] .bad-text').count(), 0);
});

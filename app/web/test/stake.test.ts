// A staker in headless Chromium with a Wallet Standard wallet against
// `cover localnet`: connect, test funds from the localnet faucet, deposit with
// a min-shares bound, request a withdrawal (countdown), cancel, request again,
// the clock advanced past the cooldown, withdraw. Each step is checked on the
// page and on chain through the RPC. The page confirms by polling here
// (`?confirm=polling`); the other flows confirm over the websocket.
// Then a matured request the pool's required capital holds back: the page
// shows it not withdrawable and disables Withdraw, the program refuses it by
// name (also in the minute after the cover's end, when a late depeg report
// could still claim it), and once the cover no longer counts the page
// withdraws it.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createSolanaRpc, type Address } from '@solana/kit';
import { fetchMint, fetchToken, findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import {
  accruePool,
  fetchDecoded,
  fetchPolicies,
  fetchQuoteAccounts,
  fetchUnixTimestamp,
  findShareMintPda,
  findWithdrawalRequestPda,
  poolCapital,
  type Pool,
} from '@coverage-pool/client';
import { cover, fund, stakeWithCli, startLocalnet, writeKeypairFile } from '@coverage-pool/client/testing';
import { openPage, screenshot, stopServer, walletKeypair } from './browser';
import { byTestId, until } from './page';
import { tokens } from '../src/ui';

const USDC = 1_000_000n;

after(stopServer);

test('connect, deposit, request, cancel, request, advance the clock, withdraw', { timeout: 240_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  await stakeWithCli(net, 100_000, [0, 1]);
  const rpc = createSolanaRpc(net.info.rpc);
  const poolAddress = net.info.pool as Address;
  const pool = async () => (await fetchDecoded(rpc, [['Pool', poolAddress]] as const))[0] as Pool;
  const { address: me } = await walletKeypair();
  const [shareMint] = await findShareMintPda(poolAddress, 0);
  const p0 = await pool();
  const ata = async (mint: Address) => (await findAssociatedTokenPda({ owner: me, mint, tokenProgram: p0.tokenProgram }))[0];
  const balance = async (mint: Address) => (await fetchToken(rpc, await ata(mint)).catch(() => null))?.data.amount ?? 0n;
  const [requestAddress] = await findWithdrawalRequestPda(poolAddress, 0, me);
  const request = async () => {
    const { value } = await rpc.getAccountInfo(requestAddress, { encoding: 'base64' }).send();
    return value ? (await fetchDecoded(rpc, [['WithdrawalRequest', requestAddress]] as const))[0] : null;
  };

  const s = await openPage(net, { view: 'stake', query: { confirm: 'polling' } });
  t.after(() => s.close());
  const { page } = s;

  // connect through the Wallet Standard, then test funds from the localnet faucet
  await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await until(page, 'account', me.slice(0, 4));
  await byTestId(page, 'faucet').click();
  await until(page, 'positions', /Wallet: 100 000 USDC · 2 SOL/);
  assert.equal(await balance(p0.collateralMint), 100_000n * USDC);
  assert.equal((await rpc.getBalance(me).send()).value, 2_000_000_000n);

  // deposit 25 000 into the junior tranche: the page previews the shares and bounds them
  await page.getByLabel('Tranche').first().selectOption('0');
  await page.getByLabel('Amount (USDC)').fill('25000');
  const supply = (await fetchMint(rpc, shareMint)).data.supply;
  // the program's rule (shares_for_deposit: amount × total shares / assets, rounded down), from the
  // chain's numbers — not the client's function the page itself calls, which could not disagree
  const shares = (25_000n * USDC * (supply + p0.tranches[0]!.deadShares)) / p0.tranches[0]!.assets;
  const preview = await until(page, 'deposit-preview', /You get/);
  assert.match(preview, new RegExp(`^You get ${formatTokens(shares)} shares now; at least ${formatTokens((shares * 9_950n) / 10_000n)} accepted\\.$`));
  await page.getByRole('button', { name: 'Deposit' }).click();
  await until(page, 'deposit-status', /Deposit: confirmed/);
  assert.equal(await balance(shareMint), shares, 'the shares previewed are the shares minted');
  assert.equal((await pool()).tranches[0]!.assets, 125_000n * USDC);
  assert.equal(await balance(p0.collateralMint), 75_000n * USDC);
  await until(page, 'shares-0', formatTokens(shares));
  // the value shown is what the shares are worth on chain now (assets × shares / total, rounded down)
  const p1 = await pool();
  const total = (await fetchMint(rpc, shareMint)).data.supply + p1.tranches[0]!.deadShares;
  const worth = (shares * p1.tranches[0]!.assets) / total;
  assert.ok(worth <= 25_000n * USDC && worth >= 25_000n * USDC - 1n, `${worth}: a deposit is worth what it paid, less rounding`);
  await until(page, 'value-0', `${formatTokens(worth)} USDC`);
  assert.equal(await byTestId(page, 'value-0').textContent(), `${formatTokens(worth)} USDC`);

  // request half, cancel it (the shares come back), request all
  await page.getByLabel('Tranche').nth(1).selectOption('0');
  await page.getByLabel('Shares (empty: all)').fill(formatTokens(shares / 2n).replace(/ /g, ''));
  await page.getByRole('button', { name: 'Request withdrawal' }).click();
  await until(page, 'request-status', /Withdrawal request: confirmed/);
  assert.equal((await request())?.shares, shares / 2n);
  assert.equal(await balance(shareMint), shares - shares / 2n);
  await until(page, 'countdown-0', /^cooldown ends in (6 d 23 h 5\d min|7 d) \(/);
  await screenshot(page, 'stake');
  await byTestId(page, 'cancel-0').click();
  await until(page, 'request-status', /Cancel: confirmed/);
  assert.equal(await request(), null);
  assert.equal(await balance(shareMint), shares);
  await page.getByRole('button', { name: 'Request withdrawal' }).click();
  await until(page, 'request-status', /Withdrawal request: confirmed/);
  const requested = (await request())!;
  assert.equal(requested.shares, shares);
  await until(page, 'countdown-0', /^cooldown ends in (6 d 23 h 5\d min|7 d) \(/);
  assert.equal(await byTestId(page, 'withdraw-0').isDisabled(), true, 'the page offers no withdrawal before the cooldown');
  // the positions are drawn again every second: a keyboard user's focus on a button stays on it
  await byTestId(page, 'cancel-0').focus();
  const drawn = await byTestId(page, 'cancel-0').elementHandle();
  await page.waitForFunction((button) => !button?.isConnected, drawn, { timeout: 10_000 });
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'cancel-0', 'the redrawn button keeps the focus');

  // the cooldown passes (the localnet clock control); the window is open
  const { cooldown, withdrawWindow } = p0;
  await net.call('localnet_advanceClock', [cooldown + 60]);
  await until(page, 'countdown-0', new RegExp(`^withdrawable now; window closes in ${withdrawWindow / 86_400 - 1} d 23 h 5\\d min`));
  await byTestId(page, 'withdraw-0').click();
  await until(page, 'request-status', /Withdrawal: confirmed/);
  assert.equal(await request(), null, 'the request is closed');
  assert.equal(await balance(shareMint), 0n);
  assert.equal(await balance(p0.collateralMint), 75_000n * USDC + requested.valueAtRequest, 'paid the value at request');
  await until(page, 'shares-0', /^0$/);
  assert.deepEqual(s.websockets, [], 'confirmed by polling: no websocket opened');
  assert.deepEqual(s.errors, []);
});

/** Amounts as the page writes them (the page's own formatter: whole tokens, 2 decimals). */
const formatTokens = (units: bigint) => tokens(units, 6);

test('a matured withdrawal the required capital holds back: shown held, refused by name, withdrawn once the cover has expired', { timeout: 240_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  const rpc = createSolanaRpc(net.info.rpc);
  const poolAddress = net.info.pool as Address;
  const usdcMarket = net.info.markets[0]!.address as Address;
  // the clock to 01:00 UTC of the next day: cover bought now ends at a midnight a known time ahead
  // (8-day cover: 7 d 23 h after the purchase, past the cooldown, before the window closes)
  const day = 86_400n;
  await net.call('localnet_setClock', [Number(((await fetchUnixTimestamp(rpc)) / day + 1n) * day + 3_600n)]);
  const other = await stakeWithCli(net, 100_000, [0]);
  const { address: me, bytes } = await walletKeypair();
  const myKeypair = writeKeypairFile(bytes);
  const [shareMint] = await findShareMintPda(poolAddress, 0);
  const [myCollateral] = await findAssociatedTokenPda({ owner: me, mint: net.info.mint as Address, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const [myShares] = await findAssociatedTokenPda({ owner: me, mint: shareMint, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const [requestAddress] = await findWithdrawalRequestPda(poolAddress, 0, me);
  const balance = async (account: Address) => (await fetchToken(rpc, account).catch(() => null))?.data.amount ?? 0n;
  const request = async () => {
    const { value } = await rpc.getAccountInfo(requestAddress, { encoding: 'base64' }).send();
    return value ? (await fetchDecoded(rpc, [['WithdrawalRequest', requestAddress]] as const))[0] : null;
  };

  const s = await openPage(net, { view: 'stake' });
  t.after(() => s.close());
  const { page } = s;
  await page.getByRole('button', { name: 'Connect Test Wallet' }).click();
  await until(page, 'account', me.slice(0, 4));
  await byTestId(page, 'faucet').click();
  await until(page, 'positions', /Wallet: 100 000 USDC/);

  // 25 000 into the junior tranche (capital 125 000), then 110 000 of USDC cover for 8 days bought by
  // the other staker: the required capital is 110 000 (the largest market's cover; 2× leverage allows
  // more), so at most ~15 000 (plus the premium earned) may leave
  await page.getByLabel('Tranche').first().selectOption('0');
  await page.getByLabel('Amount (USDC)').fill('25000');
  await until(page, 'deposit-preview', /You get/);
  await page.getByRole('button', { name: 'Deposit' }).click();
  await until(page, 'deposit-status', /Deposit: confirmed/);
  await fund(net, other.owner, 0n, 10_000n * USDC);
  cover(net, other.keypair, ['cover', 'buy', '--market', usdcMarket, '--amount', '110000', '--days', '8']);
  const [policy] = await fetchPolicies(rpc, { owner: other.owner as Address });
  assert.equal(policy?.data.amount, 110_000n * USDC);
  const required = 110_000n * USDC;

  // every share requested (the field left empty), the cooldown passed: the window is open, the capital is not
  await page.getByLabel('Tranche').nth(1).selectOption('0');
  await page.getByRole('button', { name: 'Request withdrawal' }).click();
  await until(page, 'request-status', /Withdrawal request: confirmed/);
  const requested = (await request())!;
  assert.ok(requested.valueAtRequest > 24_999n * USDC, `${requested.valueAtRequest}`);
  const { cooldown, withdrawWindow } = (await fetchQuoteAccounts(rpc, poolAddress, usdcMarket)).pool;
  await net.call('localnet_advanceClock', [cooldown + 60]);
  const held = await until(page, 'countdown-0', /^not withdrawable now/);
  const shown = held.match(
    new RegExp(`^not withdrawable now: the pool's capital must stay at or above its required capital \\(([\\d ]+(?:\\.\\d+)?) USDC free\\); window closes in ${withdrawWindow / 86_400 - 1} d 23 h 5\\d min$`),
  );
  assert.ok(shown, held);
  // the free capital shown: the pool's capital with the premium earned to now, less the 110 000 required
  const q = await fetchQuoteAccounts(rpc, poolAddress, usdcMarket);
  const free = poolCapital(accruePool(q.pool, q.ledger, await fetchUnixTimestamp(rpc)).pool) - required;
  assert.ok(free < requested.valueAtRequest, `${free} free: the request (${requested.valueAtRequest}) does not fit`);
  const [whole, frac = ''] = shown[1]!.replace(/ /g, '').split('.');
  const shownUnits = BigInt(whole!) * USDC + BigInt(frac.padEnd(6, '0'));
  assert.ok(shownUnits <= free && free - shownUnits < 30_000n, `${shown[1]} shown, ${free} free on chain`);
  assert.equal(await byTestId(page, 'withdraw-0').isDisabled(), true, 'the page offers no withdrawal the program would refuse');

  // the program agrees: the same withdrawal sent from the CLI is refused by name, nothing changes
  const state = async () => ({ collateral: await balance(myCollateral), shares: await balance(myShares), request: await request() });
  const before = await state();
  const withdrawWithCli = () => {
    try {
      cover(net, myKeypair, ['stake', 'withdraw', '--pool', poolAddress, '--tranche', '0']);
      return null;
    } catch (e) {
      const x = e as { status?: number; stdout?: Buffer };
      return { status: x.status, out: JSON.parse(String(x.stdout)) as unknown };
    }
  };
  const breached = {
    status: 1,
    out: { error: 'RequiredCapitalBreached (6008): Redemption would leave pool capital below its required capital' },
  };
  assert.deepEqual(withdrawWithCli(), breached);
  assert.deepEqual(await state(), before, 'nothing changed on chain');

  // a second after the cover's end (a midnight): a depeg that began before it could still be reported
  // until max_price_age has passed, so the cover still counts (claimable_cover_day) — for both
  const { endTime } = policy!.data;
  await net.call('localnet_setClock', [Number(endTime) + 1]);
  assert.deepEqual(withdrawWithCli(), breached, 'the program still counts the cover');
  assert.deepEqual(await state(), before);
  // the page has read the new clock (the window's end is a day and an hour away, not almost two days)
  await until(page, 'countdown-0', /^not withdrawable now: .*; window closes in 1 d [01] h \d\d min$/);
  assert.equal(await byTestId(page, 'withdraw-0').isDisabled(), true, 'the page still counts the cover');

  // once max_price_age has passed since the end, no unreported streak can find the cover in force: it no
  // longer counts, the required capital is 0, the withdrawal goes through the page
  await net.call('localnet_setClock', [Number(endTime) + q.market.maxPriceAge + 60]);
  await until(page, 'countdown-0', /^withdrawable now; window closes in 1 d [01] h \d\d min/);
  assert.equal(await byTestId(page, 'withdraw-0').isDisabled(), false);

  // a depeg printed but not yet reported (no keeper runs here): withdraw refuses it by name, and so does the page
  const feed = net.info.markets[0]!.feed_id;
  await net.call('localnet_setPrice', [feed, { price: 94_000_000, conf: 0 }]);
  assert.match(
    await until(page, 'countdown-0', /^not withdrawable now: a market/),
    /^not withdrawable now: a market's oracle shows its strike breached \(price - conf below strike\): redemptions wait until a keeper reports it or it recovers; window closes in 1 d [01] h \d\d min$/,
  );
  assert.equal(await byTestId(page, 'withdraw-0').isDisabled(), true);
  const belowStrike = await withdrawWithCli();
  assert.equal(belowStrike?.status, 1);
  assert.match(JSON.stringify(belowStrike?.out), /^\{"error":"PriceBelowStrikeInPool \(\d+\): A market's oracle shows its strike breached/);
  assert.deepEqual(await state(), before, 'nothing changed on chain');
  await net.call('localnet_setPrice', [feed, { price: 100_000_000, conf: 10_000 }]);
  await until(page, 'countdown-0', /^withdrawable now/);
  assert.equal(await byTestId(page, 'withdraw-0').isDisabled(), false);
  await byTestId(page, 'withdraw-0').click();
  await until(page, 'request-status', /Withdrawal: confirmed/);
  assert.equal(await request(), null, 'the request is closed');
  assert.equal(await balance(myCollateral), before.collateral + requested.valueAtRequest, 'paid the value at request');
  await until(page, 'shares-0', /^0$/);
  assert.deepEqual(s.errors, []);
});

// The README's way to run the page: the Vite dev server (`npm run dev`) next
// to `cover localnet`, live data on the page with no settings but the RPC URL;
// and how settings are read (query, build variables, localnet defaults).
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { stakeWithCli, startLocalnet } from '@coverage-pool/client/testing';
import { chainOf, readConfig, websocketUrl } from '../src/config';
import { CHROMIUM } from './browser';
import { until } from './page';

test('settings: query first, then build variables, then the localnet defaults', () => {
  const local = readConfig('', {});
  assert.deepEqual(local, { rpc: 'http://127.0.0.1:8899', ws: 'ws://127.0.0.1:8900', pool: undefined, chain: 'solana:localnet', confirm: 'websocket', symbol: 'USDC' });
  const devnet = readConfig('', { VITE_RPC_URL: 'https://api.devnet.solana.com', VITE_POOL: 'Cxm9ZQ65QUwwvH1jyUybMDUwbtckVeWUqaxr2RssNgu2' });
  assert.equal(devnet.ws, 'wss://api.devnet.solana.com');
  assert.equal(devnet.chain, 'solana:devnet');
  assert.equal(devnet.pool, 'Cxm9ZQ65QUwwvH1jyUybMDUwbtckVeWUqaxr2RssNgu2');
  const query = readConfig('?rpc=http://127.0.0.1:9000&confirm=polling&chain=devnet', { VITE_RPC_URL: 'https://api.devnet.solana.com' });
  assert.deepEqual([query.rpc, query.ws, query.confirm, query.chain], ['http://127.0.0.1:9000', 'ws://127.0.0.1:9001', 'polling', 'solana:devnet']);
  assert.equal(websocketUrl('https://mainnet.helius-rpc.com/?api-key=x'), 'wss://mainnet.helius-rpc.com/?api-key=x');
  assert.equal(chainOf('https://api.mainnet-beta.solana.com'), 'solana:mainnet');
  assert.throws(() => readConfig('?pool=not-an-address', {}));
});

test('npm run dev: the page shows live data from cover localnet', { timeout: 120_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  await stakeWithCli(net, 12_345);
  const server = await createServer({ root: resolve(dirname(fileURLToPath(import.meta.url)), '..'), logLevel: 'error', server: { port: 0 } });
  await server.listen();
  t.after(() => server.close());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.resolvedUrls!.local[0]}?rpc=${encodeURIComponent(net.info.rpc)}`);
  await until(page, 'capital', '12 345 USDC', 60_000);
  await until(page, 'market-0-status', 'Active');
  assert.deepEqual(errors, []);
});

// The README's TypeScript snippet is `examples/buy-cover.ts`, word for word,
// and it runs as written against `cover localnet`: it quotes, buys, lists the
// buyer's policies; refused, it prints the named error in plain words, from
// the client's quote (more cover than is left) or from the program (a market
// whose price is below its strike).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { address, createKeyPairSignerFromBytes, createSolanaRpc } from '@solana/kit';
import { fetchPolicies } from '../src';
import { REPO, fund, newKeypairBytes, stakeWithCli, startLocalnet, writeKeypairFile } from './localnet';

const EXAMPLE = join(REPO, 'app/ts/examples/buy-cover.ts');

test('the README shows examples/buy-cover.ts as it is', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.includes(readFileSync(EXAMPLE, 'utf8')), 'a ```ts block of the README equals app/ts/examples/buy-cover.ts');
});

test('the README snippet runs as written against cover localnet', { timeout: 180_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  await stakeWithCli(net, 100_000);
  const keypair = newKeypairBytes();
  const buyer = (await createKeyPairSignerFromBytes(keypair)).address;
  await fund(net, buyer, 1_000_000_000n, 5_000_000_000n);
  const run = (tokens: string, market = net.info.markets[0]!.address) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', EXAMPLE], {
      cwd: join(REPO, 'app/ts'),
      env: { ...process.env, RPC_URL: net.info.rpc, KEYPAIR: writeKeypairFile(keypair), POOL: net.info.pool, MARKET: market, TOKENS: tokens, DAYS: '30' },
      timeout: 60_000,
    });

  const { stdout } = await run('1000');
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^premium [\d.]+ for 1 000 over 30 days$/);
  assert.match(lines[1]!, /^bought: \w{80,90}$/);
  const policies = await fetchPolicies(createSolanaRpc(net.info.rpc), { owner: address(buyer) });
  assert.equal(policies.length, 1);
  assert.equal(lines[2], `${policies[0]!.address}: 1 000 USDC, pending`);

  // 200 000 USDC of cover against 100 000 of capital: the program refuses, the snippet says why
  const refused = await run('200000').then(() => assert.fail('the purchase went through'), (e: { code: number; stderr: string }) => e);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^CapacityExceeded: Capacity exceeded: at most 99 000 USDC of cover is left on this market\.\n$/);

  // the USDT market's feed at 0.90 USD, under its 0.95 strike: the quote is fine, the program refuses the sale
  await net.call('localnet_setPrice', ['USDT/USD', { price: 90_000_000, conf: 10_000 }]);
  const below = await run('1000', net.info.markets[1]!.address).then(() => assert.fail('the purchase went through'), (e: { code: number; stdout: string; stderr: string }) => e);
  assert.match(below.stdout, /^premium [\d.]+ for 1 000 over 30 days\n$/);
  assert.equal(below.stderr, 'PriceBelowStrike: The price is below the strike on this market: cover sales are stopped until it recovers.\n');
  assert.equal((await fetchPolicies(createSolanaRpc(net.info.rpc), { owner: address(buyer) })).length, 1);
});

// PDAs and Pyth push-feed addresses: what `coverage_sdk::pda` and
// `coverage_sdk::pyth::push_feed_address` derive; Pyth price update accounts
// as the receiver SDK decodes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as pdas from '../src/pdas';
import { decodePriceUpdate, feedIdHex, formatPrice, parseFeedId, pushFeedAddress } from '../src/pyth';
import { addr, big, canon, fromHex, golden, type Json } from './golden';

const DERIVE: Record<string, (s: Json) => ReturnType<typeof pdas.findPoolPda>> = {
  pool: (s) => pdas.findPoolPda(addr(s.creator), big(s.pool_id)),
  vault: (s) => pdas.findVaultPda(addr(s.pool)),
  ledger: (s) => pdas.findLedgerPda(addr(s.pool)),
  share_mint: (s) => pdas.findShareMintPda(addr(s.pool), s.tranche),
  share_escrow: (s) => pdas.findShareEscrowPda(addr(s.pool), s.tranche),
  withdrawal_request: (s) => pdas.findWithdrawalRequestPda(addr(s.pool), s.tranche, addr(s.staker)),
  market: (s) => pdas.findMarketPda(addr(s.pool), s.index),
  book: (s) => pdas.findBookPda(addr(s.market)),
  policy: (s) => pdas.findPolicyPda(addr(s.market), big(s.id)),
};

test('every PDA of the program, as the Rust SDK derives it', async () => {
  const kinds = new Set(golden.pdas.map((p: Json) => p.kind));
  assert.deepEqual([...kinds].sort(), Object.keys(DERIVE).sort());
  for (const p of golden.pdas) {
    const [address, bump] = await DERIVE[p.kind]!(p.seeds);
    assert.deepEqual({ address, bump }, { address: p.address, bump: p.bump }, `${p.kind} ${JSON.stringify(p.seeds)}`);
  }
});

test('Pyth push-feed accounts of feed ids, on the sponsored and other shards', async () => {
  for (const f of golden.push_feeds) {
    const id = parseFeedId(f.feed_id);
    assert.equal(feedIdHex(id), f.feed_id);
    assert.equal(await pushFeedAddress(id, f.shard), f.address, `${f.feed_id} shard ${f.shard}`);
  }
  assert.throws(() => parseFeedId('0x1234'), /64 hex digits/);
});

test('PriceUpdateV2 accounts decode to the receiver SDK\'s fields; other data is refused', () => {
  assert.ok(golden.price_updates.length >= 6);
  for (const v of golden.price_updates) {
    const u = decodePriceUpdate(fromHex(v.data));
    assert.deepEqual(canon(u), {
      write_authority: v.write_authority,
      verification_level: v.verification_level,
      feed_id: v.feed_id.slice(2),
      price: v.price,
      conf: v.conf,
      exponent: v.exponent,
      publish_time: v.publish_time,
      prev_publish_time: v.prev_publish_time,
      ema_price: v.ema_price,
      ema_conf: v.ema_conf,
      posted_slot: v.posted_slot,
    });
  }
  const data = fromHex(golden.price_updates[0].data);
  assert.throws(() => decodePriceUpdate(data.slice(0, 100)), /134 bytes, this data is 100/);
  assert.throws(() => decodePriceUpdate(Uint8Array.from(data, (b, i) => (i === 0 ? b ^ 1 : b))), /discriminator/);
  assert.equal(formatPrice(99_701_310n, -8), '0.9970131');
  assert.equal(formatPrice(-42n, -10, 10), '-0.0000000042');
  assert.equal(formatPrice(95_000_000n, -8, 4), '0.95');
  assert.equal(formatPrice(7n, 2), '700');
});

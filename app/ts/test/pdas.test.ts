// PDAs and Pyth push-feed addresses: what `coverage_sdk::pda` and
// `coverage_sdk::pyth::push_feed_address` derive.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as pdas from '../src/pdas';
import { feedIdHex, parseFeedId, pushFeedAddress } from '../src/pyth';
import { addr, big, golden, type Json } from './golden';

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

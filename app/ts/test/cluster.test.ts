// The cluster from its genesis hash (not its URL), and the refusal to sign on another chain.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSolanaRpc } from '@solana/kit';
import { chainOfGenesisHash, checkWalletChain, fetchClusterChain, WalletChainMismatchError } from '../src/cluster';
import { startLocalnet } from './localnet';

test('public clusters by genesis hash, anything else is local', () => {
  assert.equal(chainOfGenesisHash('5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d'), 'solana:mainnet');
  assert.equal(chainOfGenesisHash('EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG'), 'solana:devnet');
  assert.equal(chainOfGenesisHash('4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY'), 'solana:testnet');
  assert.equal(chainOfGenesisHash('11111111111111111111111111111111'), 'solana:localnet');
});

test('a wallet account on another chain is refused by name', () => {
  checkWalletChain(['solana:devnet', 'solana:localnet'], 'solana:localnet');
  assert.throws(() => checkWalletChain(['solana:devnet'], 'solana:localnet'), (e: unknown) => {
    assert.ok(e instanceof WalletChainMismatchError);
    assert.equal(e.errorName, 'WalletChainMismatch');
    assert.match(e.message, /on solana:devnet, but this page's cluster is solana:localnet/);
    return true;
  });
  assert.throws(() => checkWalletChain([], 'solana:mainnet'), { errorName: 'WalletChainMismatch' });
});

test('cover localnet is a local cluster by its genesis hash', { timeout: 60_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  const { genesisHash, chain } = await fetchClusterChain(createSolanaRpc(net.info.rpc));
  assert.match(genesisHash, /^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
  assert.equal(chain, 'solana:localnet');
});

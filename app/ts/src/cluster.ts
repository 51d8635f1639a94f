/**
 * Which cluster an RPC serves, from its genesis hash, as a Wallet Standard
 * chain (`solana:mainnet`, `solana:devnet`, `solana:testnet`, else
 * `solana:localnet`), and the check a page makes before it asks a wallet to
 * sign: the wallet's account must be on that chain. A URL says nothing
 * reliable about the cluster; the genesis hash does.
 */
import type { GetGenesisHashApi, Rpc } from '@solana/kit';

export type SolanaChain = `solana:${string}`;

/** The public clusters' genesis hashes (any other cluster is a local one). */
export const GENESIS_HASHES: Readonly<Record<string, SolanaChain>> = {
  '5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d': 'solana:mainnet',
  EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG: 'solana:devnet',
  '4uhcVJyU9pJkvQyS88uRDiswHXSCkY3zQawwpjk2NsNY': 'solana:testnet',
};

/** The Wallet Standard chain of a cluster with `genesisHash`. */
export function chainOfGenesisHash(genesisHash: string): SolanaChain {
  return GENESIS_HASHES[genesisHash] ?? 'solana:localnet';
}

/** The chain the RPC serves, asked with `getGenesisHash`. */
export async function fetchClusterChain(rpc: Rpc<GetGenesisHashApi>): Promise<{ genesisHash: string; chain: SolanaChain }> {
  const genesisHash = await rpc.getGenesisHash().send();
  return { genesisHash, chain: chainOfGenesisHash(genesisHash) };
}

/** A wallet account on another chain than the cluster the page reads and sends to. */
export class WalletChainMismatchError extends Error {
  readonly errorName = 'WalletChainMismatch';
  constructor(
    readonly walletChains: readonly string[],
    readonly clusterChain: SolanaChain,
  ) {
    const on = walletChains.filter((c) => c.startsWith('solana:'));
    super(
      `your wallet account is on ${on.length ? on.join(', ') : 'no Solana chain'}, but this page's cluster is ${clusterChain}: ` +
        `switch the wallet to ${clusterChain.slice('solana:'.length)} (or open the page for the wallet's cluster); nothing was sent`,
    );
    this.name = 'WalletChainMismatchError';
  }
}

/** Refuses (a {@link WalletChainMismatchError}) unless the account's `chains` include `clusterChain`. */
export function checkWalletChain(walletChains: readonly string[], clusterChain: SolanaChain): void {
  if (!walletChains.includes(clusterChain)) throw new WalletChainMismatchError(walletChains, clusterChain);
}

/**
 * Wallets through the Wallet Standard only: whatever wallet registers itself
 * (Phantom, Backpack, Solflare, …) is found with `getWallets()`, connected with
 * `standard:connect`, followed with `standard:events`, and signs with
 * `solana:signTransaction`. No wallet-specific code. The page sends and
 * confirms transactions itself through its own RPC.
 */
import {
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  getTransactionEncoder,
  getTransactionLifetimeConstraintFromCompiledTransactionMessage,
  address,
  assertIsTransactionWithinSizeLimit,
  type Address,
  type TransactionModifyingSigner,
} from '@solana/kit';
import { SolanaSignTransaction, type SolanaSignTransactionFeature } from '@solana/wallet-standard-features';
import { checkWalletChain, type SolanaChain } from '@coverage-pool/client';
import { getWallets } from '@wallet-standard/app';
import type { Wallet, WalletAccount } from '@wallet-standard/base';
import {
  StandardConnect,
  StandardDisconnect,
  StandardEvents,
  type StandardConnectFeature,
  type StandardDisconnectFeature,
  type StandardEventsFeature,
} from '@wallet-standard/features';

const REMEMBERED = 'coverage-pool:wallet';

/** A wallet the page can use: it connects and signs Solana transactions. */
export function isUsable(wallet: Wallet): boolean {
  return (
    StandardConnect in wallet.features &&
    SolanaSignTransaction in wallet.features &&
    wallet.chains.some((c) => c.startsWith('solana:'))
  );
}

/** The connected wallet and account. */
export type Connection = { wallet: Wallet; account: WalletAccount; address: Address };

/**
 * Watches the registered wallets and the connection. `onChange` runs when a
 * wallet registers or unregisters, and when the connected account changes.
 */
export class WalletState {
  wallets: Wallet[] = [];
  connection: Connection | null = null;
  private stopEvents: (() => void) | null = null;

  /**
   * `cluster`: the chain of the cluster the page reads and sends to (from
   * its genesis hash); the wallet's account must be on it before anything is signed.
   */
  constructor(
    private readonly cluster: () => Promise<SolanaChain>,
    private readonly onChange: () => void,
  ) {
    const registry = getWallets();
    const refresh = () => {
      this.wallets = registry.get().filter(isUsable);
      this.onChange();
      // reconnect silently to the wallet used last time, once it shows up
      const name = localStorage.getItem(REMEMBERED);
      const w = name && !this.connection ? this.wallets.find((x) => x.name === name) : undefined;
      if (w) void this.connect(w, true).catch(() => localStorage.removeItem(REMEMBERED));
    };
    registry.on('register', refresh);
    registry.on('unregister', refresh);
    queueMicrotask(refresh); // once the owner holds this object
  }

  /** Asks `wallet` to connect (`silent`: only if it already trusts the page). */
  async connect(wallet: Wallet, silent = false): Promise<void> {
    const { accounts } = await (wallet.features as StandardConnectFeature)[StandardConnect].connect({ silent });
    const account = accounts.find((a) => a.chains.some((c) => c.startsWith('solana:'))) ?? accounts[0];
    if (!account) {
      if (silent) return;
      throw new Error(`${wallet.name} shared no account`);
    }
    this.use(wallet, account);
    localStorage.setItem(REMEMBERED, wallet.name);
    this.stopEvents?.();
    const events = (wallet.features as Partial<StandardEventsFeature>)[StandardEvents];
    this.stopEvents =
      events?.on('change', ({ accounts: changed }) => {
        if (!changed) return;
        const next = changed.find((a) => a.chains.some((c) => c.startsWith('solana:'))) ?? changed[0];
        if (next) this.use(wallet, next);
        else this.clear();
        this.onChange();
      }) ?? null;
    this.onChange();
  }

  async disconnect(): Promise<void> {
    const wallet = this.connection?.wallet;
    this.stopEvents?.();
    this.clear();
    localStorage.removeItem(REMEMBERED);
    this.onChange();
    await (wallet?.features as Partial<StandardDisconnectFeature> | undefined)?.[StandardDisconnect]?.disconnect();
  }

  /** A kit signer for the connected account: it signs through the wallet. */
  signer(): TransactionModifyingSigner {
    if (!this.connection) throw new Error('Connect a wallet first.');
    return walletSigner(this.connection, this.cluster);
  }

  private use(wallet: Wallet, account: WalletAccount) {
    this.connection = { wallet, account, address: address(account.address) };
  }

  private clear() {
    this.connection = null;
    this.stopEvents = null;
  }
}

/**
 * A kit `TransactionModifyingSigner` backed by `solana:signTransaction`: kit
 * compiles and hands over the transaction, the wallet returns it signed (a
 * wallet may change it, e.g. add a priority fee: its lifetime is then read
 * from the returned message).
 */
export function walletSigner(
  { wallet, account, address: signerAddress }: Connection,
  cluster: () => Promise<SolanaChain>,
): TransactionModifyingSigner {
  const feature = (wallet.features as SolanaSignTransactionFeature)[SolanaSignTransaction];
  const encoder = getTransactionEncoder();
  const decoder = getTransactionDecoder();
  return {
    address: signerAddress,
    async modifyAndSignTransactions(transactions) {
      // a transaction signed for another cluster would fail there or, worse, land there: refuse before the wallet asks
      const chain = await cluster();
      checkWalletChain(account.chains, chain);
      const outputs = await feature.signTransaction(
        ...transactions.map((t) => ({ account, chain, transaction: new Uint8Array(encoder.encode(t)) })),
      );
      return Promise.all(
        outputs.map(async (o, i) => {
          const input = transactions[i]!;
          const signed = decoder.decode(o.signedTransaction);
          assertIsTransactionWithinSizeLimit(signed);
          const same =
            signed.messageBytes.length === input.messageBytes.length && signed.messageBytes.every((b, j) => b === input.messageBytes[j]);
          const lifetimeConstraint =
            'lifetimeConstraint' in input && same
              ? input.lifetimeConstraint
              : await getTransactionLifetimeConstraintFromCompiledTransactionMessage(
                  getCompiledTransactionMessageDecoder().decode(signed.messageBytes) as Parameters<
                    typeof getTransactionLifetimeConstraintFromCompiledTransactionMessage
                  >[0],
                );
          return Object.freeze({ ...signed, lifetimeConstraint });
        }),
      );
    },
  };
}

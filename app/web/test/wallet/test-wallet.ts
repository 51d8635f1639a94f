/**
 * A Wallet Standard wallet for the browser tests, running inside the page
 * (bundled to one script and injected with `page.addInitScript` before the
 * page's own code): registered with `registerWallet` like any real wallet,
 * with `standard:connect`, `standard:disconnect`, `standard:events` and
 * `solana:signTransaction` on `solana:localnet`, signing with a fixed
 * keypair through the browser's WebCrypto Ed25519 (kit's `partiallySignTransaction`).
 *
 * Like a wallet's approval prompt, `window.testWallet` lets the test hold a
 * signature: `autoApprove = false`, then `approve()` or `reject()` once
 * `pending` is positive.
 */
import {
  createKeyPairFromPrivateKeyBytes,
  getAddressDecoder,
  getTransactionDecoder,
  getTransactionEncoder,
  partiallySignTransaction,
} from '@solana/kit';
import type { SolanaSignTransactionFeature, SolanaSignTransactionInput } from '@solana/wallet-standard-features';
import type { Wallet, WalletAccount } from '@wallet-standard/base';
import type { StandardConnectFeature, StandardDisconnectFeature, StandardEventsFeature, StandardEventsListeners } from '@wallet-standard/features';
import { registerWallet, ReadonlyWalletAccount } from '@wallet-standard/wallet';

type Gate = {
  autoApprove: boolean;
  pending: number;
  signed: number;
  approve(): void;
  reject(): void;
};

declare global {
  interface Window {
    testWallet: Gate;
    installTestWallet(secretKey: number[], chain?: `solana:${string}`): void;
  }
}

const ICON =
  'data:image/svg+xml;base64,' +
  btoa('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#7c3aed"/><path d="M9 11h14v10H9z" fill="none" stroke="#fff" stroke-width="2.5"/><circle cx="19" cy="16" r="1.8" fill="#fff"/></svg>');

window.installTestWallet = (secretKey: number[], chain: `solana:${string}` = 'solana:localnet') => {
  // a wallet switched to another network reports that chain (a test of the page's chain check)
  const CHAIN = chain;
  const seed = Uint8Array.from(secretKey.slice(0, 32));
  const publicKey = Uint8Array.from(secretKey.slice(32, 64));
  const account: WalletAccount = new ReadonlyWalletAccount({
    address: getAddressDecoder().decode(publicKey),
    publicKey,
    chains: [CHAIN],
    features: ['solana:signTransaction'],
    label: 'Test account',
  });
  let keyPair: Promise<CryptoKeyPair> | undefined; // imported at first use: the script also runs in about:blank, which has no WebCrypto
  const listeners = new Set<StandardEventsListeners['change']>();
  let connected = false;
  const waiting: { ok: () => void; no: (e: Error) => void }[] = [];

  const gate: Gate = {
    autoApprove: true,
    pending: 0,
    signed: 0,
    approve: () => waiting.shift()?.ok(),
    reject: () => waiting.shift()?.no(new Error('User rejected the request.')),
  };
  window.testWallet = gate;

  const emit = () => listeners.forEach((l) => l({ accounts: wallet.accounts }));

  const connect: StandardConnectFeature['standard:connect'] = {
    version: '1.0.0',
    connect: async () => {
      connected = true;
      emit();
      return { accounts: wallet.accounts };
    },
  };
  const disconnect: StandardDisconnectFeature['standard:disconnect'] = {
    version: '1.0.0',
    disconnect: async () => {
      connected = false;
      emit();
    },
  };
  const events: StandardEventsFeature['standard:events'] = {
    version: '1.0.0',
    on: (event, listener) => {
      if (event !== 'change') return () => {};
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const signTransaction: SolanaSignTransactionFeature['solana:signTransaction'] = {
    version: '1.0.0',
    supportedTransactionVersions: ['legacy', 0],
    signTransaction: async (...inputs: readonly SolanaSignTransactionInput[]) => {
      if (!connected) throw new Error('The test wallet is not connected.');
      if (!gate.autoApprove) {
        gate.pending++;
        try {
          await new Promise<void>((ok, no) => waiting.push({ ok, no }));
        } finally {
          gate.pending--;
        }
      }
      const keys = await (keyPair ??= createKeyPairFromPrivateKeyBytes(seed));
      return Promise.all(
        inputs.map(async ({ transaction, account: who, chain }) => {
          if (who.address !== account.address) throw new Error(`not this wallet's account: ${who.address}`);
          if (chain && chain !== CHAIN) throw new Error(`the test wallet signs for ${CHAIN}, not ${chain}`);
          const signed = await partiallySignTransaction([keys], getTransactionDecoder().decode(transaction));
          gate.signed++;
          return { signedTransaction: new Uint8Array(getTransactionEncoder().encode(signed)) };
        }),
      );
    },
  };

  const wallet: Wallet = {
    version: '1.0.0',
    name: 'Test Wallet',
    icon: ICON as Wallet['icon'],
    chains: [CHAIN],
    get accounts() {
      return connected ? [account] : [];
    },
    features: {
      'standard:connect': connect,
      'standard:disconnect': disconnect,
      'standard:events': events,
      'solana:signTransaction': signTransaction,
    },
  };
  registerWallet(wallet);
};

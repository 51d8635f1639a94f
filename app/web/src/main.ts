/**
 * The page: a header (network, cluster clock, wallet), four views (pool,
 * stake, buy cover, policies) switched by the URL's hash, and a refresh loop
 * that reads the cluster every 2 s (and right after each transaction).
 */
import './style.css';
import { address, createSolanaRpc, createSolanaRpcSubscriptions, type Address } from '@solana/kit';
import { feedIdHex, fetchClusterChain, sendInstructions, type SolanaChain } from '@coverage-pool/client';
import type { Wallet } from '@wallet-standard/base';
import { readConfig } from './config';
import { clockNow, loadSnapshot, type Snapshot } from './data';
import { dateTime, fill, h, short, tokens } from './ui';
import { BuyView } from './views/buy';
import { PoliciesView } from './views/policies';
import { PoolView, type Names } from './views/pool';
import { StakeView } from './views/stake';
import { WalletState } from './wallet';
import type { Sender } from './actions';
import { coalesced } from './coalesce';

/** Pyth feed ids the page can name on any cluster (others show their id). */
const KNOWN_FEEDS: Record<string, string> = {
  '0xeaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a': 'USDC depeg',
  '0x2b89b9dc8fdf9f34709a5b106b472f0f39bb6ca9ce04b0fd7f2e971688e2e53b': 'USDT depeg',
};

const VIEWS = [
  ['pool', 'Pool'],
  ['stake', 'Stake'],
  ['buy', 'Buy cover'],
  ['policies', 'Policies'],
] as const;
type ViewName = (typeof VIEWS)[number][0];

type LocalnetInfo = { pool: string; markets: { name: string; address: string }[] };

class App {
  private readonly config = readConfig();
  private readonly rpc = createSolanaRpc(this.config.rpc);
  private readonly sender: Sender;
  private readonly wallet: WalletState;
  private snapshot: Snapshot | null = null;
  private pool: Address | undefined = this.config.pool;
  private localnet: LocalnetInfo | null = null;
  private names: Names = { markets: new Map() };
  private readonly views;
  private readonly main = h('main', { id: 'main', tabindex: -1 });
  private readonly walletBox = h('div', { class: 'wallet', 'data-testid': 'wallet' });
  /** The connected wallet's collateral balance, updated in place. */
  private readonly balance = h('span', { class: 'balance', 'data-testid': 'balance' });
  /** What the wallet box's controls were last built for. */
  private walletShape = '';
  private readonly clock = h('span', { class: 'clock', 'data-testid': 'clock' });
  private readonly banner = h('div', { class: 'banner', role: 'alert', hidden: true });
  private readonly nav = h('nav', { class: 'tabs', 'aria-label': 'Views' });
  /** The cluster's chain: the configured one until the genesis hash says which it is. */
  private readonly networkLabel = h('span', { 'data-testid': 'network' }, this.config.chain.replace('solana:', ''));

  constructor(root: HTMLElement) {
    const options = this.config.confirm === 'websocket' ? { rpcSubscriptions: createSolanaRpcSubscriptions(this.config.ws) } : {};
    this.sender = { rpc: this.rpc, send: (signer, instructions) => sendInstructions(this.rpc, signer, instructions, options) };
    // the cluster by its genesis hash, asked once; a failed ask is asked again at the next signature
    let cluster: Promise<SolanaChain> | null = null;
    const clusterChain = () => {
      cluster ??= fetchClusterChain(this.rpc).then(
        ({ chain }) => {
          this.networkLabel.textContent = chain.replace('solana:', '');
          return chain;
        },
        (e: unknown) => {
          cluster = null;
          throw e;
        },
      );
      return cluster;
    };
    void clusterChain().catch(() => undefined);
    this.wallet = new WalletState(clusterChain, () => {
      this.renderWallet();
      void this.refresh();
    });
    const names = () => this.names;
    const refresh = () => this.refresh();
    const sym = this.config.symbol;
    this.views = {
      pool: new PoolView(sym, names),
      stake: new StakeView(sym, this.wallet, this.sender, refresh),
      buy: new BuyView(sym, this.wallet, this.sender, names, refresh),
      policies: new PoliciesView(sym, names),
    };
    const network = new URL(this.config.rpc);
    fill(root,
      h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
      h('header', { class: 'top' },
        h('div', { class: 'brand' },
          h('span', { class: 'logo', 'aria-hidden': 'true' }, '◈'),
          h('div', {}, h('h1', {}, 'Coverage pool'), h('p', { class: 'tagline' }, 'Stake USDC, earn premium · buy cover against stablecoin depegs')),
        ),
        h('div', { class: 'meta' },
          h('span', { class: 'network', title: this.config.rpc }, this.networkLabel, ' · ', network.host),
          this.clock,
        ),
        this.walletBox,
      ),
      this.nav,
      this.banner,
      this.main,
      h('footer', {}, h('p', {},
        'Computed in your browser with @coverage-pool/client from the accounts as last read (its math is checked against the program\'s by golden vectors); ' +
          'yearly rates and the next 7 days\' premium are projections, not promises.')),
    );
    window.addEventListener('hashchange', () => this.show());
    this.show();
    this.renderWallet();
    void this.refresh();
    setInterval(() => void this.refresh(), 2_000);
    setInterval(() => this.tick(), 1_000);
  }

  private current(): ViewName {
    const name = location.hash.slice(1);
    return (VIEWS.find(([v]) => v === name)?.[0] ?? 'pool') as ViewName;
  }

  private show(): void {
    const view = this.current();
    if (!this.nav.firstChild) {
      fill(this.nav, ...VIEWS.map(([v, label]) => h('a', { href: `#${v}`, class: 'tab', 'data-testid': `tab-${v}` }, label)));
    }
    // the links stay (a keyboard user keeps their place); only the current one changes
    this.nav.querySelectorAll('a').forEach((a) => {
      const current = a.getAttribute('href') === `#${view}`;
      a.classList.toggle('active', current);
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
    fill(this.main, this.views[view].el);
    document.title = `${VIEWS.find(([v]) => v === view)![1]} · Coverage pool`;
  }

  private tick(): void {
    if (!this.snapshot) return;
    this.clock.textContent = `cluster time ${dateTime(clockNow(this.snapshot))}`;
    this.views.stake.tick();
    this.views.policies.tick();
  }

  /** On localnet: the pool and market names from `localnet_info` when no pool is configured. */
  private async discover(): Promise<void> {
    if (this.localnet !== null) return;
    try {
      const res = await fetch(this.config.rpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'localnet_info', params: [] }),
      });
      const body = (await res.json()) as { result?: LocalnetInfo };
      if (body.result) {
        this.localnet = body.result;
        this.pool ??= address(body.result.pool);
        for (const m of body.result.markets) this.names.markets.set(m.address, m.name);
      }
    } catch {
      // not a localnet
    }
  }

  /** Reads the cluster and renders every view; see `coalesced` for calls made while a read runs. */
  readonly refresh = coalesced(() => this.load());

  private async load(): Promise<void> {
    try {
      if (!this.pool) await this.discover();
      if (!this.pool) {
        this.alert('No pool configured: open the page with ?pool=<pool address> (or build it with VITE_POOL).');
        return;
      }
      const owner = this.wallet.connection?.address;
      const s = await loadSnapshot(this.rpc, this.pool, owner, owner ? this.views.policies.watched(this.pool, owner) : []);
      for (const m of s.markets) {
        if (!this.names.markets.has(m.address)) {
          const known = KNOWN_FEEDS[feedIdHex(m.market.feedId)];
          if (known) this.names.markets.set(m.address, known);
        }
      }
      this.snapshot = s;
      this.alert(null);
      for (const v of Object.values(this.views)) v.update(s);
      this.renderWallet();
      this.tick();
      document.body.dataset['loaded'] = 'true';
    } catch (e) {
      this.alert(`Cannot read the cluster at ${this.config.rpc}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private alert(text: string | null): void {
    this.banner.hidden = text === null;
    this.banner.textContent = text ?? '';
  }

  /**
   * The wallet box. Its controls are built again only when what they are
   * changes (another account or wallet list); a refresh updates the balance in
   * place, so a keyboard user's focus on a button survives the 2-second reads.
   */
  private renderWallet(): void {
    const c = this.wallet.connection;
    const user = this.snapshot?.user;
    this.balance.hidden = !c || !user;
    this.balance.textContent = user ? `${tokens(user.collateral, this.snapshot!.decimals)} ${this.config.symbol}` : '';
    const wallets = this.wallet.wallets;
    const shape = c ? `account ${c.wallet.name} ${c.address} ${this.localnet !== null}` : `wallets ${wallets.map((w) => w.name).join(',')}`;
    if (shape === this.walletShape) return;
    this.walletShape = shape;
    if (c) {
      const faucet = this.localnet
        ? h('button', { type: 'button', class: 'quiet', 'data-testid': 'faucet', onclick: () => void this.faucet(c.address) }, 'Get test funds')
        : null;
      fill(this.walletBox,
        faucet,
        h('span', { class: 'account', title: c.address, 'data-testid': 'account' },
          c.wallet.icon ? h('img', { src: c.wallet.icon, alt: '', width: 18, height: 18 }) : null, short(c.address), this.balance),
        h('button', { type: 'button', class: 'quiet', onclick: () => void this.wallet.disconnect() }, 'Disconnect'),
      );
      return;
    }
    if (wallets.length === 0) {
      fill(this.walletBox, h('span', { class: 'muted small' }, 'No wallet found: install Phantom, Backpack or Solflare.'));
      return;
    }
    fill(this.walletBox, ...wallets.map((w: Wallet) =>
      h('button', { type: 'button', class: 'primary', 'data-testid': 'connect', id: `connect-${w.name.replace(/\W+/g, '-')}`, onclick: () => void this.connect(w) },
        w.icon ? h('img', { src: w.icon, alt: '', width: 18, height: 18 }) : null, `Connect ${w.name}`),
    ));
  }

  private async connect(w: Wallet): Promise<void> {
    try {
      await this.wallet.connect(w);
    } catch (e) {
      this.alert(`${w.name} did not connect: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Localnet only: 2 SOL (an airdrop) and 100 000 of the collateral (the localnet faucet). */
  private async faucet(owner: Address): Promise<void> {
    // a JSON-RPC refusal arrives as HTTP 200 with `error`: said in words, not dropped
    const call = async (what: string, method: string, params: unknown[]) => {
      const reply = (await fetch(this.config.rpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      }).then((r) => r.json())) as { error?: { message?: string } };
      if (reply.error) throw new Error(`The faucet could not send ${what}: ${reply.error.message ?? 'the RPC refused'}.`);
    };
    let failure: string | null = null;
    try {
      await call('SOL', 'requestAirdrop', [owner, 2_000_000_000]);
      await call('the collateral', 'localnet_mintCollateral', [owner, 100_000 * 10 ** (this.snapshot?.decimals ?? 6)]);
    } catch (e) {
      failure = e instanceof Error && e.message.startsWith('The faucet') ? e.message : `The faucet is unreachable at ${this.config.rpc}.`;
    }
    // cover localnet applies both before it replies: the next read sees them
    await this.refresh();
    // after the refresh, which clears the alert line when the read succeeds
    if (failure) this.alert(failure);
  }
}

new App(document.getElementById('app')!);

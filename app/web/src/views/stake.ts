/**
 * Staking: deposit into a tranche with a min-shares bound, see shares and
 * their value, request a withdrawal (cooldown and window as countdowns),
 * cancel it, withdraw.
 */
import type { Address, Instruction } from '@solana/kit';
import { getCreateAssociatedTokenIdempotentInstructionAsync } from '@solana-program/token';
import {
  buildCancelWithdrawal,
  buildDeposit,
  buildRequestWithdrawal,
  buildWithdraw,
  checkPositive,
  parseTokenAmount,
  parseTolerancePercent,
  redemptionValue,
  sharesForDeposit,
  shareValue,
  withdrawalWindow,
  withdrawPriceRefusal,
  programErrorByName,
} from '@coverage-pool/client';
import { describeError, runTransaction, type Sender } from '../actions';

/** A sentence's first letter lower-cased, to follow a colon. */
const lowerFirst = (words: string) => words.charAt(0).toLowerCase() + words.slice(1);
import { clockNow, type Snapshot } from '../data';
import { dateTime, duration, field, fill, fixed, h, span, tokens } from '../ui';
import type { WalletState } from '../wallet';

export class StakeView {
  readonly el = h('section', { class: 'view', id: 'stake-view', 'aria-labelledby': 'stake-title' });
  private snapshot: Snapshot | null = null;
  private readonly tranche = h('select', { id: 'deposit-tranche', name: 'tranche' });
  private readonly amount = h('input', { id: 'deposit-amount', name: 'amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '1000' });
  private readonly slippage = h('input', { id: 'deposit-slippage', name: 'slippage', inputmode: 'decimal', value: '0.5' });
  private readonly preview = h('p', { class: 'preview', 'data-testid': 'deposit-preview', 'aria-live': 'polite' });
  private readonly depositButton = h('button', { type: 'submit', class: 'primary', 'data-testid': 'deposit' }, 'Deposit');
  private readonly depositStatus = h('p', { class: 'status', 'data-testid': 'deposit-status' });
  private readonly requestTranche = h('select', { id: 'request-tranche', name: 'tranche' });
  private readonly requestShares = h('input', { id: 'request-shares', name: 'shares', inputmode: 'decimal', autocomplete: 'off', placeholder: 'all' });
  private readonly requestStatus = h('p', { class: 'status', 'data-testid': 'request-status' });
  private readonly positions = h('div', { 'data-testid': 'positions' });
  private readonly connectHint = h('p', { class: 'notice' });

  constructor(
    private readonly symbol: string,
    private readonly wallet: WalletState,
    private readonly sender: Sender,
    private readonly refresh: () => Promise<void>,
  ) {
    const deposit = h('form', { class: 'card form', 'aria-labelledby': 'deposit-title', onsubmit: (e: Event) => { e.preventDefault(); void this.deposit(); } },
      h('h3', { id: 'deposit-title' }, 'Deposit'),
      h('div', { class: 'row' },
        field('Tranche', this.tranche),
        field(`Amount (${symbol})`, this.amount),
        field('Tolerance (%)', this.slippage, 'fewest shares accepted, below the preview'),
      ),
      this.preview,
      h('div', { class: 'actions' }, this.depositButton),
      this.depositStatus,
    );
    const request = h('form', { class: 'card form', 'aria-labelledby': 'request-title', onsubmit: (e: Event) => { e.preventDefault(); void this.request(); } },
      h('h3', { id: 'request-title' }, 'Request a withdrawal'),
      h('div', { class: 'row' },
        field('Tranche', this.requestTranche),
        field('Shares (empty: all)', this.requestShares),
      ),
      h('p', { class: 'muted small', 'data-testid': 'request-terms' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'request' }, 'Request withdrawal')),
      this.requestStatus,
    );
    for (const input of [this.tranche, this.amount, this.slippage]) input.addEventListener('input', () => this.renderPreview());
    fill(this.el,
      h('h2', { id: 'stake-title' }, 'Stake'),
      this.connectHint,
      h('div', { class: 'grid two' }, deposit, request),
      h('div', { class: 'card' }, h('h3', {}, 'Your positions'), this.positions),
    );
  }

  update(s: Snapshot): void {
    const first = !this.snapshot;
    this.snapshot = s;
    if (first || this.tranche.options.length !== s.tranches.length) {
      for (const select of [this.tranche, this.requestTranche]) {
        fill(select, ...s.tranches.map((t) => h('option', { value: t.index }, t.name)));
      }
    }
    const terms = this.el.querySelector('[data-testid="request-terms"]');
    if (terms) {
      fill(terms, `Shares are locked when you request. After a cooldown of ${span(s.pool.cooldown)}, you have ${span(s.pool.withdrawWindow)} to withdraw; ` +
        'you get the lower of their value at the request and at the withdrawal.');
    }
    this.connectHint.textContent = this.wallet.connection ? '' : 'Connect a wallet to deposit and withdraw.';
    this.connectHint.hidden = !!this.wallet.connection;
    this.renderPreview();
    this.tick();
  }

  /** Re-renders the countdowns (every second). */
  tick(): void {
    const s = this.snapshot;
    if (!s) return;
    const user = s.user;
    if (!user) {
      fill(this.positions, h('p', { class: 'muted' }, 'No wallet connected.'));
      return;
    }
    const now = clockNow(s);
    const rows = s.tranches.map((t) => {
      const shares = user.shares[t.index] ?? 0n;
      const supply = t.totalShares - s.accrued.tranches[t.index]!.deadShares;
      const value = shareValue(s.accrued, t.index, supply, shares);
      const request = user.requests[t.index];
      let requestCell: (Node | string)[] = ['—'];
      if (request) {
        const r = request.data;
        const { opensAt, lapsesAt } = withdrawalWindow(r);
        const due = redemptionValue(r.shares, r.valueAtRequest, t.assets, t.totalShares);
        // withdraw refuses (RequiredCapitalBreached) a payout that leaves capital below the
        // required capital of the markets' claimable cover: s.required is the program's figure.
        // Capital already below it (after a payout) refuses even a payout of 0 (capital − 0 < required).
        const free = s.capital > s.required ? s.capital - s.required : 0n;
        // withdraw's checks in its order: no open streak in the pool, each market's price, then capital
        const refusal =
          s.pool.openStreaks > 0
            ? 'StreakOpenInPool'
            : (s.markets.map((m) => withdrawPriceRefusal(m.market, m.priceAccount, now)).find((r) => r !== null) ??
              (s.capital < s.required || due > free ? 'RequiredCapitalBreached' : null));
        const held = refusal !== null;
        const why =
          refusal === 'RequiredCapitalBreached'
            ? `the pool's capital must stay at or above its required capital (${tokens(free, s.decimals)} ${this.symbol} free)`
            : lowerFirst(programErrorByName(refusal ?? '')?.message ?? refusal ?? '');
        const when =
          now < opensAt
            ? h('span', { 'data-testid': `countdown-${t.index}` }, `cooldown ends in ${duration(opensAt - now)}`, h('small', {}, ` (${dateTime(opensAt)})`))
            : now <= lapsesAt && held
              ? h('span', { class: 'bad-text', 'data-testid': `countdown-${t.index}` }, `not withdrawable now: ${why}; window closes in ${duration(lapsesAt - now)}`)
            : now <= lapsesAt
              ? h('span', { class: 'ok-text', 'data-testid': `countdown-${t.index}` }, `withdrawable now; window closes in ${duration(lapsesAt - now)}`, h('small', {}, ` (${dateTime(lapsesAt)})`))
              : h('span', { class: 'bad-text', 'data-testid': `countdown-${t.index}` }, `window closed ${dateTime(lapsesAt)}: cancel, or request again`);
        requestCell = [
          h('div', {}, `${tokens(r.shares, s.decimals)} shares, worth ${tokens(due, s.decimals)} ${this.symbol}`),
          h('div', { class: 'small' }, when),
          h('div', { class: 'actions' },
            h('button', { type: 'button', 'data-testid': `withdraw-${t.index}`, disabled: now < opensAt || now > lapsesAt || held, onclick: () => void this.withdraw(t.index) }, 'Withdraw'),
            h('button', { type: 'button', class: 'quiet', 'data-testid': `cancel-${t.index}`, onclick: () => void this.cancel(t.index) }, 'Cancel request'),
          ),
        ];
      }
      return h('tr', { 'data-testid': `position-${t.index}` },
        h('th', { scope: 'row' }, t.name),
        h('td', { 'data-label': 'Shares held', 'data-testid': `shares-${t.index}` }, tokens(shares, s.decimals)),
        h('td', { 'data-label': 'Value', 'data-testid': `value-${t.index}` }, `${tokens(value, s.decimals)} ${this.symbol}`),
        h('td', { 'data-label': 'Share price' }, `${fixed(t.sharePrice, s.decimals, 6)}`),
        h('td', { 'data-label': 'Withdrawal request' }, ...requestCell),
      );
    });
    fill(this.positions,
      h('p', { class: 'balances' }, `Wallet: ${tokens(user.collateral, s.decimals)} ${this.symbol} · ${tokens(user.lamports, 9, 3)} SOL`),
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ...['Tranche', 'Shares held', 'Value', 'Share price', 'Withdrawal request'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows),
      ),
    );
  }

  /** The deposit's inputs, or why they are not usable. */
  private depositInputs(): { tranche: number; amount: bigint; minShares: bigint; shares: bigint } | string {
    const s = this.snapshot;
    if (!s) return 'Loading…';
    if (this.amount.value.trim() === '') return `Enter an amount in ${this.symbol}.`;
    const tranche = Number(this.tranche.value || 0);
    const t = s.tranches[tranche]!;
    try {
      // every typed value through the client's parsers: a refusal names what is wrong
      const amount = parseTokenAmount('amount', this.amount.value, s.decimals);
      checkPositive('amount', amount);
      const toleranceBps = parseTolerancePercent(this.slippage.value);
      const { shares } = sharesForDeposit(amount, t.assets, t.totalShares);
      const minShares = (shares * (10_000n - toleranceBps)) / 10_000n;
      return { tranche, amount, minShares, shares };
    } catch (e) {
      return describeError(e).words;
    }
  }

  private renderPreview(): void {
    const s = this.snapshot;
    const d = this.depositInputs();
    if (typeof d === 'string' || !s) {
      this.preview.textContent = typeof d === 'string' ? d : '';
      return;
    }
    const user = s.user;
    const short = user && d.amount > user.collateral ? ` You have ${tokens(user.collateral, s.decimals)} ${this.symbol}.` : '';
    this.preview.textContent = `You get ${tokens(d.shares, s.decimals)} shares now; at least ${tokens(d.minShares, s.decimals)} accepted.${short}`;
  }

  private async deposit(): Promise<void> {
    const s = this.snapshot;
    const d = this.depositInputs();
    if (!s || typeof d === 'string') {
      this.depositStatus.className = 'status error';
      this.depositStatus.textContent = typeof d === 'string' ? d : 'Loading…';
      return;
    }
    const ok = await runTransaction(this.depositStatus, this.sender, () => this.wallet.signer(), 'Deposit', async () => {
      const staker = this.wallet.signer();
      const user = s.user!;
      const createShares = await getCreateAssociatedTokenIdempotentInstructionAsync({
        payer: staker, owner: staker.address, mint: s.tranches[d.tranche]!.shareMint, tokenProgram: s.keys.tokenProgram,
      });
      const deposit = await buildDeposit({
        staker, keys: s.keys, tranche: d.tranche, trancheCount: s.pool.trancheCount,
        stakerCollateral: user.collateralAccount, stakerShares: user.shareAccounts[d.tranche]!, amount: d.amount, minShares: d.minShares,
      });
      return [createShares, deposit] as Instruction[];
    });
    if (ok) this.amount.value = '';
    await this.refresh();
  }

  private async request(): Promise<void> {
    const s = this.snapshot;
    const user = s?.user;
    const tranche = Number(this.requestTranche.value || 0);
    const typed = this.requestShares.value.trim();
    await runTransaction(this.requestStatus, this.sender, () => this.wallet.signer(), 'Withdrawal request', async () => {
      if (!s || !user) throw new Error('Connect a wallet first.');
      // empty asks for every share held; anything typed must parse (a named refusal otherwise)
      const shares = typed === '' ? (user.shares[tranche] ?? 0n) : parseTokenAmount('shares', typed, s.decimals);
      // zero shares renews a lapsed request (the program's rule); without one there is nothing to ask for
      if (shares === 0n && !user.requests[tranche]) throw new Error('You hold no shares of this tranche.');
      return [await buildRequestWithdrawal({ staker: this.wallet.signer(), keys: s.keys, tranche, trancheCount: s.pool.trancheCount, stakerShares: user.shareAccounts[tranche]!, shares })];
    });
    this.requestShares.value = '';
    await this.refresh();
  }

  private async cancel(tranche: number): Promise<void> {
    const s = this.snapshot!;
    await runTransaction(this.requestStatus, this.sender, () => this.wallet.signer(), 'Cancel', async () => [
      await buildCancelWithdrawal({ staker: this.wallet.signer(), keys: s.keys, tranche, stakerShares: s.user!.shareAccounts[tranche]! }),
    ]);
    await this.refresh();
  }

  private async withdraw(tranche: number): Promise<void> {
    const s = this.snapshot!;
    const request = s.user?.requests[tranche]?.data;
    await runTransaction(
      this.requestStatus, this.sender, () => this.wallet.signer(), 'Withdrawal',
      async () => [
        await buildWithdraw({
          staker: this.wallet.signer(), keys: s.keys, tranche, stakerCollateral: s.user!.collateralAccount,
          priceUpdates: s.markets.map((m) => m.feedAccount as Address),
        }),
      ],
      async () => (request ? withdrawalWindow(request) : {}),
    );
    await this.refresh();
  }
}

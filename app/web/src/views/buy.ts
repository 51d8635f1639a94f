/**
 * Buying cover: market, amount and days; the premium quoted live as the
 * buyer types (the client's `quotePremium`, equal to the program's to the
 * unit) with a slippage bound; the purchase.
 */
import {
  buildBuyCover,
  checkCoverAmount,
  parseTokenAmount,
  parseTolerancePercent,
  parseWholeDays,
  curveOf,
  fetchQuoteAccounts,
  marketCapacity,
  policyTerm,
  PRICE_EXPONENT,
  quotePremium,
} from '@coverage-pool/client';
import { describeError, runTransaction, type Sender } from '../actions';
import { clockNow, type Snapshot } from '../data';
import { curveChart } from '../chart';
import { dateTime, field, fill, h, percent, span, stat, tokens, usdPrice } from '../ui';
import type { WalletState } from '../wallet';
import { marketStatus, type Names } from './pool';

/** Capacity left, rounded down to whole tokens ("at most …" stays true). */
const wholeTokens = (units: bigint, decimals: number) => units - (units % 10n ** BigInt(decimals));

type Quote = { market: number; amount: bigint; days: number; premium: bigint; maxPremium: bigint };

export class BuyView {
  readonly el = h('section', { class: 'view', id: 'buy-view', 'aria-labelledby': 'buy-title' });
  private snapshot: Snapshot | null = null;
  private readonly market = h('select', { id: 'buy-market', name: 'market' });
  private readonly amount = h('input', { id: 'buy-amount', name: 'amount', inputmode: 'decimal', autocomplete: 'off', placeholder: '10000' });
  private readonly days = h('input', { id: 'buy-days', name: 'days', inputmode: 'numeric', autocomplete: 'off', value: '30' });
  private readonly slippage = h('input', { id: 'buy-slippage', name: 'slippage', inputmode: 'decimal', value: '1' });
  private readonly quoteBox = h('div', { class: 'quote', 'data-testid': 'quote', 'aria-live': 'polite' });
  private readonly button = h('button', { type: 'submit', class: 'primary', 'data-testid': 'buy' }, 'Buy cover');
  private readonly status = h('p', { class: 'status', 'data-testid': 'buy-status' });
  private readonly side = h('aside', { class: 'card side', 'data-testid': 'buy-market', 'aria-label': 'The market' });
  private quote: Quote | null = null;
  /** A purchase is being prepared, signed or confirmed. */
  private sending = false;

  constructor(
    private readonly symbol: string,
    private readonly wallet: WalletState,
    private readonly sender: Sender,
    private readonly names: () => Names,
    private readonly refresh: () => Promise<void>,
  ) {
    const form = h('form', { class: 'card form', 'aria-labelledby': 'buy-form-title', onsubmit: (e: Event) => { e.preventDefault(); void this.buy(); } },
      h('h3', { id: 'buy-form-title' }, 'Cover against a depeg'),
      h('div', { class: 'row pairs' },
        field('Market', this.market),
        field(`Cover amount (${symbol})`, this.amount, 'paid out if the market triggers while your cover is in force'),
        field('Days', this.days, '1 to 365 whole days'),
        field('Tolerance (%)', this.slippage, 'highest premium accepted, above the quote'),
      ),
      this.quoteBox,
      h('div', { class: 'actions' }, this.button),
      this.status,
    );
    for (const input of [this.market, this.amount, this.days, this.slippage]) {
      input.addEventListener('input', () => {
        // an outcome shown was of the purchase typed before; one under way stays visible
        if (!this.sending) {
          fill(this.status);
          this.status.removeAttribute('role');
        }
        this.renderQuote();
      });
    }
    fill(this.el, h('h2', { id: 'buy-title' }, 'Buy cover'), h('div', { class: 'buy-layout' }, form, this.side));
  }

  update(s: Snapshot): void {
    const first = !this.snapshot;
    this.snapshot = s;
    if (first || this.market.options.length !== s.markets.length) {
      const names = this.names();
      fill(this.market, ...s.markets.map((m) => h('option', { value: m.index }, names.markets.get(m.address) ?? `Market ${m.index}`)));
    }
    this.renderQuote();
  }

  /** The quote for what is typed, or the reason there is none. */
  private compute(): Quote | string {
    const s = this.snapshot;
    if (!s) return 'Loading…';
    const index = Number(this.market.value || 0);
    const m = s.markets[index];
    if (!m) return 'Pick a market.';
    const status = marketStatus(m, s.now, s.pool);
    if (status.tone !== 'ok') return `This market sells no cover now: ${status.text.toLowerCase()}.`;
    if (this.amount.value.trim() === '') return `Enter an amount of cover in ${this.symbol}.`;
    try {
      // every typed value through the client's parsers: a refusal names what is wrong
      const amount = parseTokenAmount('amount', this.amount.value, s.decimals);
      const days = parseWholeDays(this.days.value);
      const toleranceBps = parseTolerancePercent(this.slippage.value);
      checkCoverAmount(amount, s.decimals);
      const premium = quotePremium(m.quote, amount, days, clockNow(s));
      const maxPremium = premium + (premium * toleranceBps) / 10_000n;
      return { market: index, amount, days, premium, maxPremium };
    } catch (e) {
      return describeError(e, { capacityLeft: wholeTokens(marketCapacity(m.quote, clockNow(s)).left, s.decimals), decimals: s.decimals, symbol: this.symbol }).words;
    }
  }

  /** The chosen market at a glance: status, price against strike, capacity, and where the purchase sits on its curve. */
  private renderSide(amount: bigint): void {
    const s = this.snapshot;
    const m = s?.markets[Number(this.market.value || 0)];
    if (!s || !m) return;
    const status = marketStatus(m, s.now, s.pool);
    const feed = m.feed;
    const { capacity, activeCover, left } = m.capacity;
    const usd = (units: bigint) => usdPrice(units, PRICE_EXPONENT);
    fill(this.side,
      h('header', { class: 'card-head' },
        h('h3', {}, this.names().markets.get(m.address) ?? `Market ${m.index}`),
        h('span', { class: `badge ${status.tone}` }, status.text),
      ),
      h('dl', { class: 'stats' },
        stat('Feed price', feed ? usdPrice(feed.price, feed.exponent) : '—'),
        stat('Strike / recovery', `${usd(m.market.strike)} / ${usd(m.market.recovery)}`),
        stat('Cover sold', `${tokens(activeCover, s.decimals, 0)} ${this.symbol}`),
        stat('Capacity left', `${tokens(left, s.decimals, 0)} ${this.symbol}`),
      ),
      h('figure', { class: 'chart' },
        curveChart(curveOf(m.market.curve), activeCover, capacity, amount <= left ? amount : 0n),
        h('figcaption', {}, 'Annual premium rate by utilization; shaded: the stretch your cover moves through'),
      ),
      h('p', { class: 'muted small' },
        `If the price (plus its confidence) stays under ${usd(m.market.strike)} for ${span(m.market.duration)} while your cover is in force, ` +
          (m.market.payout.__kind === 'Binary'
            ? 'the market triggers and pays the whole cover.'
            : `the market triggers and pays part of the cover, all of it at ${usd(m.market.payout.floorPrice)} or below.`)),
    );
  }

  private renderQuote(): void {
    const s = this.snapshot;
    const q = this.compute();
    this.renderSide(typeof q === 'string' ? 0n : q.amount);
    this.quote = typeof q === 'string' ? null : q;
    this.button.disabled = typeof q === 'string';
    if (typeof q === 'string' || !s) {
      fill(this.quoteBox, h('p', { class: 'quote-note', 'data-testid': 'quote-note' }, typeof q === 'string' ? q : ''));
      return;
    }
    const m = s.markets[q.market]!;
    const now = clockNow(s);
    const term = policyTerm(now, BigInt(m.market.activationDelay), BigInt(q.days));
    // the premium as a yearly rate of the cover: premium / amount × 365 / days
    const yearlyBps = Number((q.premium * 10_000n * 365n) / (q.amount * BigInt(q.days)));
    const user = s.user;
    const short = user && q.maxPremium > user.collateral ? h('p', { class: 'bad-text' }, `You have ${tokens(user.collateral, s.decimals)} ${this.symbol}.`) : null;
    fill(this.quoteBox,
      h('dl', { class: 'stats' },
        h('div', { class: 'stat big' }, h('dt', {}, 'Premium'), h('dd', { 'data-testid': 'premium', 'data-units': q.premium.toString() }, `${tokens(q.premium, s.decimals, 6)} ${this.symbol}`)),
        h('div', { class: 'stat' }, h('dt', {}, 'Yearly rate'), h('dd', {}, percent(yearlyBps))),
        h('div', { class: 'stat' }, h('dt', {}, 'At most'), h('dd', { 'data-testid': 'max-premium' }, `${tokens(q.maxPremium, s.decimals, 6)} ${this.symbol}`)),
        h('div', { class: 'stat span2' }, h('dt', {}, 'Cover'), h('dd', {}, `${dateTime(term.activationTime).replace(' UTC', '')} → ${dateTime(term.endTime)}`)),
      ),
      short,
    );
  }

  private async buy(): Promise<void> {
    const s = this.snapshot;
    const q = this.quote;
    if (!s || !q) return;
    const m = s.markets[q.market]!;
    this.sending = true;
    const sig = await runTransaction(
      this.status, this.sender, () => this.wallet.signer(), 'Purchase',
      async () => {
        const buyer = this.wallet.signer();
        // the policy is the market's next one as it is now (another buyer may have taken the one the page saw)
        const { market } = await fetchQuoteAccounts(this.sender.rpc as never, s.poolAddress, m.address);
        return [
          await buildBuyCover({
            buyer, keys: s.keys, market: m.address, policyId: market.policyCount, payerCollateral: s.user!.collateralAccount,
            priceUpdate: m.feedAccount, amount: q.amount, days: q.days, maxPremium: q.maxPremium, decimals: s.decimals,
          }),
        ];
      },
      // the numbers of the plain-words message, as they are after the refusal
      async () => {
        const accounts = await fetchQuoteAccounts(this.sender.rpc as never, s.poolAddress, m.address);
        const now = clockNow(s);
        let premium: bigint | undefined;
        try {
          premium = quotePremium(accounts, q.amount, q.days, now);
        } catch {
          // no quote now (e.g. no capacity): the message says what is left
        }
        return { capacityLeft: wholeTokens(marketCapacity(accounts, now).left, s.decimals), premium, maxPremium: q.maxPremium, decimals: s.decimals, symbol: this.symbol };
      },
    ).finally(() => (this.sending = false));
    if (sig) this.amount.value = '';
    await this.refresh();
  }
}

/** The pool: capital against required capital, the tranches, the markets with their feeds and curves. */
import {
  curveOf,
  feedIdHex,
  formatPrice,
  fromOracle,
  haircutBps,
  MarketStatus,
  PRICE_EXPONENT,
  programErrorByName,
  saleRefusal,
  type Pool,
} from '@coverage-pool/client';
import { curveChart } from '../chart';
import type { MarketView, Snapshot } from '../data';
import { dateTime, duration, fill, fixed, h, percent, stat, tokens, usdPrice } from '../ui';

export type Names = { markets: Map<string, string> };

/** A market's status in words, and a tone for its badge. */
export function marketStatus(m: MarketView, now: bigint, pool: Pick<Pool, 'paused'>): { text: string; tone: 'ok' | 'warn' | 'bad' | 'muted' } {
  const { market } = m;
  if (market.status === MarketStatus.Closed) return { text: 'Closed', tone: 'muted' };
  if (market.status === MarketStatus.Triggered) return { text: `Triggered ${dateTime(market.event.triggerTime)}`, tone: 'bad' };
  if (now < market.salesOpenAt) return { text: `Not open until ${dateTime(market.salesOpenAt)}`, tone: 'muted' };
  if (market.status === MarketStatus.StreakOpen) return { text: `Streak open since ${dateTime(market.streakStart)}`, tone: 'warn' };
  if (market.paused) return { text: 'Paused', tone: 'muted' };
  // "Active" only when buy_cover's own checks (the client's port of check_sale) would sell now
  const refusal = saleRefusal(pool, market, m.priceAccount, now);
  if (refusal === 'PoolPaused') return { text: 'Pool paused', tone: 'muted' };
  if (refusal) {
    const words = programErrorByName(refusal)?.message ?? refusal;
    return { text: `Not selling: ${words.charAt(0).toLowerCase()}${words.slice(1)}`, tone: 'warn' };
  }
  return { text: 'Active', tone: 'ok' };
}

const usd = (units: bigint) => usdPrice(units, PRICE_EXPONENT);

/** The haircut of a triggered market's settlement, bps: `1 − reserve / liability` (0: paid in full). */
export function haircut(m: MarketView): number {
  return 10_000 - Number(haircutBps(m.market.settlement.reserve, m.market.settlement.liability));
}

function marketCard(m: MarketView, s: Snapshot, name: string, symbol: string): HTMLElement {
  const status = marketStatus(m, s.now, s.pool);
  const feed = m.feed;
  const price = feed ? usdPrice(feed.price, feed.exponent) : 'no price';
  const conf = feed ? `± ${formatPrice(feed.conf, feed.exponent, 4)}` : '';
  const age = feed ? s.now - feed.publishTime : 0n;
  const { capacity, activeCover, left } = m.capacity;
  const utilization = capacity > 0n ? Number((activeCover * 10_000n) / capacity) : 0;
  // in price units whatever the feed's exponent (price::from_oracle); a price the program cannot read is not "below"
  const units = (() => {
    try {
      return feed ? fromOracle(feed.price, BigInt(feed.conf), feed.exponent) : null;
    } catch {
      return null;
    }
  })();
  const below = !!units && units.price + units.conf < m.market.strike;
  const settled = m.market.status === MarketStatus.Triggered;
  return h(
    'article',
    { class: 'card market', 'data-testid': `market-${m.index}` },
    h('header', { class: 'card-head' },
      h('h3', {}, name),
      h('span', { class: `badge ${status.tone}`, 'data-testid': `market-${m.index}-status` }, status.text),
    ),
    h('div', { class: 'market-body' },
      h('dl', { class: 'stats' },
        stat('Feed price', h('span', { class: below ? 'bad-text' : '' }, price, ' ', h('small', {}, conf)), `market-${m.index}-price`),
        stat('Strike / recovery', `${usd(m.market.strike)} / ${usd(m.market.recovery)}`),
        stat('Published', feed ? `${duration(age)} ago` : '—'),
        stat('Cover sold (active)', `${tokens(activeCover, s.decimals, 0)} ${symbol}`),
        status.tone === 'ok'
          ? stat('Capacity left', `${tokens(left, s.decimals, 0)} of ${tokens(capacity, s.decimals, 0)} ${symbol}`, `market-${m.index}-left`)
          : stat('Capacity left', 'no sales now', `market-${m.index}-left`),
        stat('Utilization', percent(utilization, 1)),
        settled ? stat('Lowest price + conf', usd(m.market.event.lowestPrice)) : null,
        settled
          ? stat('Claims paid', `${tokens(m.market.settlement.paid, s.decimals, 0)} of ${tokens(m.market.settlement.liability, s.decimals, 0)} ${symbol}`)
          : null,
        settled
          ? stat('Haircut', haircut(m) === 0 ? 'none: paid in full' : percent(haircut(m)))
          : null,
      ),
      h('figure', { class: 'chart' },
        curveChart(curveOf(m.market.curve), activeCover, capacity),
        h('figcaption', {}, 'Annual premium rate by utilization'),
      ),
    ),
  );
}

export class PoolView {
  readonly el = h('section', { class: 'view', id: 'pool-view', 'aria-labelledby': 'pool-title' });

  constructor(private readonly symbol: string, private readonly names: () => Names) {}

  update(s: Snapshot): void {
    const sym = this.symbol;
    const usedBps = s.capital > 0n ? Number((s.required * 10_000n) / s.capital) : s.required > 0n ? 10_000 : 0;
    const summary = h('div', { class: 'card summary' },
      h('dl', { class: 'stats wide' },
        stat('Capital', `${tokens(s.capital, s.decimals, 0)} ${sym}`, 'capital'),
        stat('Required capital', `${tokens(s.required, s.decimals, 0)} ${sym}`, 'required'),
        stat('Premiums paid, all time', `${tokens(s.pool.premiumsPaid, s.decimals)} ${sym}`),
        stat('Paid to policy owners', `${tokens(s.pool.payoutsPaid, s.decimals)} ${sym}`),
      ),
      h('div', { class: 'meter', role: 'meter', 'aria-label': 'Required capital as a share of capital', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.min(100, usedBps / 100) },
        h('div', { class: 'meter-fill', style: `width: ${Math.min(100, usedBps / 100)}%` }),
      ),
      h('p', { class: 'muted small' }, `Required capital is ${percent(usedBps, 1)} of capital: withdrawals may not take capital below it.`),
    );
    const rows = s.tranches.map((t) =>
      h('tr', { 'data-testid': `tranche-${t.index}` },
        h('th', { scope: 'row' }, t.name, h('small', {}, ` tranche ${t.index}`)),
        h('td', { 'data-label': 'Assets' }, `${tokens(t.assets, s.decimals)} ${sym}`),
        h('td', { 'data-label': 'Share price', 'data-testid': `tranche-${t.index}-price` }, `${fixed(t.sharePrice, s.decimals, 6)} ${sym}`),
        h('td', { 'data-label': 'Premium, next 7 days' }, `${tokens(t.next7d, s.decimals)} ${sym}`),
        h('td', { 'data-label': 'Yearly rate' }, t.yearlyBps === null ? '—' : percent(t.yearlyBps)),
        h('td', { 'data-label': 'Premium weight' }, percent(t.weightBps, 0)),
      ),
    );
    const tranches = h('div', { class: 'card' },
      h('h3', {}, 'Tranches'),
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ...['Tranche', 'Assets', 'Share price', 'Premium, next 7 days', 'Yearly rate', 'Premium weight'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows),
      ),
      h('p', { class: 'muted small' },
        'Premium streams to stakers day by day over each policy\'s term. "Next 7 days" is what premiums already paid will add to each tranche over the coming week ' +
          '(the pool\'s premium ledger, computed with the program\'s own accrual); the yearly rate is that pace over a year, before any new cover is sold. ' +
          'Junior tranches take losses first.'),
    );
    const names = this.names();
    const markets = s.markets.map((m) => marketCard(m, s, names.markets.get(m.address) ?? `Market ${m.index} · ${feedIdHex(m.market.feedId).slice(0, 10)}…`, sym));
    fill(this.el,
      h('h2', { id: 'pool-title' }, 'Pool'),
      summary,
      tranches,
      h('h2', {}, 'Markets'),
      h('div', { class: 'grid markets' }, ...markets),
    );
  }
}

/**
 * The connected wallet's policies (`getProgramAccounts` filtered on the
 * owner): pending activation, active, ended, claimable after a trigger, paid
 * (with the amount and the haircut) or settled with nothing.
 *
 * A settled or finished policy may be closed by a keeper at once (its rent
 * goes back to its owner), and then it is no longer on chain. The page keeps
 * the policies it has seen in this browser (localStorage) and shows a closed
 * one with what settlement paid it: the client's `expectedPayout` on its
 * market's settlement, which is what `settle_policies` computed.
 */
import { address, isAddress, type Address } from '@solana/kit';
import {
  expectedPayout,
  MarketStatus,
  PolicyStatus,
  policyPhase,
  type Decoded,
  type Policy,
  type PolicyPhase,
} from '@coverage-pool/client';
import { clockNow, type MarketView, type Snapshot } from '../data';
import { dateTime, duration, fill, h, percent, tokens } from '../ui';
import { haircut, type Names } from './pool';


const FIELDS = ['market', 'owner', 'id', 'epoch', 'amount', 'premium', 'purchasedAt', 'activationTime', 'endTime', 'status', 'payout'] as const;
/** The fields of a policy worth remembering, as JSON: its terms, and its status and payout as last seen on chain. */
type Remembered = Record<(typeof FIELDS)[number], string>;

function remember(p: Policy): Remembered {
  return {
    market: p.market, owner: p.owner, id: String(p.id), epoch: String(p.epoch), amount: String(p.amount), premium: String(p.premium),
    purchasedAt: String(p.purchasedAt), activationTime: String(p.activationTime), endTime: String(p.endTime),
    status: String(p.status), payout: String(p.payout),
  };
}

/** A closed policy as it was last seen on chain; `null` for an entry that is not one (another version's, edited, corrupt). */
function revive(r: unknown): Policy | null {
  if (typeof r !== 'object' || r === null || !FIELDS.every((f) => typeof (r as Record<string, unknown>)[f] === 'string')) return null;
  const x = r as Remembered;
  try {
    return {
      discriminator: new Uint8Array(), version: 0, bump: 0, status: Number(x.status) as PolicyStatus, payout: BigInt(x.payout),
      market: address(x.market), owner: address(x.owner), id: BigInt(x.id), epoch: Number(x.epoch), amount: BigInt(x.amount),
      premium: BigInt(x.premium), purchasedAt: BigInt(x.purchasedAt), activationTime: BigInt(x.activationTime), endTime: BigInt(x.endTime),
    };
  } catch {
    return null; // an address or number that does not parse
  }
}

/** The remembered policies under `key`: a missing, unparsable or malformed entry is an empty memory, never a broken page. */
function recall(key: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(key) ?? '{}');
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export class PoliciesView {
  readonly el = h('section', { class: 'view', id: 'policies-view', 'aria-labelledby': 'policies-title' });
  private readonly body = h('div', { 'data-testid': 'policies' });
  private snapshot: Snapshot | null = null;
  /** Policies seen on chain and since closed. */
  private closed: Decoded<Policy>[] = [];

  constructor(private readonly symbol: string, private readonly names: () => Names) {
    fill(this.el, h('h2', { id: 'policies-title' }, 'Your policies'), h('div', { class: 'card' }, this.body));
  }

  /** Addresses of the policies this browser remembers for `owner` in `pool`: the snapshot checks whether each still exists. */
  watched(pool: Address, owner: Address): Address[] {
    return Object.keys(recall(`coverage-pool:policies:${pool}:${owner}`)).filter((a): a is Address => isAddress(a));
  }

  update(s: Snapshot): void {
    this.snapshot = s;
    this.closed = [];
    if (s.user) {
      const key = `coverage-pool:policies:${s.poolAddress}:${s.user.address}`;
      const seen = recall(key);
      for (const p of s.user.policies) seen[p.address] = remember(p.data);
      // a policy that still exists under another owner was transferred, not closed: forgotten here
      for (const a of s.user.transferred) delete seen[a];
      const open = new Set<string>(s.user.policies.map((p) => p.address));
      const closed: Decoded<Policy>[] = [];
      for (const [a, r] of Object.entries(seen)) {
        const data = revive(r);
        if (!data) delete seen[a];
        else if (!open.has(a)) closed.push({ address: a as Address, data });
      }
      localStorage.setItem(key, JSON.stringify(seen));
      this.closed = closed.sort((a, b) => Number(b.data.purchasedAt - a.data.purchasedAt));
    }
    this.tick();
  }

  tick(): void {
    const s = this.snapshot;
    if (!s) return;
    if (!s.user) {
      fill(this.body, h('p', { class: 'muted' }, 'Connect a wallet to see your policies.'));
      return;
    }
    if (s.user.policies.length + this.closed.length === 0) {
      fill(this.body, h('p', { class: 'muted', 'data-testid': 'no-policies' }, 'No policies yet: buy cover to see it here.'));
      return;
    }
    const now = clockNow(s);
    const markets = new Map(s.markets.map((m) => [m.address as string, m]));
    const names = this.names();
    const name = (p: Policy) => names.markets.get(p.market) ?? 'Market';
    const rows = [
      ...s.user.policies.map((p) => this.row(p, markets.get(p.data.market), name(p.data), now, s.decimals, false)),
      ...this.closed.map((p) => this.row(p, markets.get(p.data.market), name(p.data), now, s.decimals, true)),
    ];
    fill(this.body,
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ...['Policy', 'Cover', 'Premium', 'Term', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, ...rows),
      ),
      this.closed.length > 0
        ? h('p', { class: 'muted small' }, 'Closed: a keeper closed the policy account once it was settled or over, and returned its rent to you. ' +
            'This browser remembers it; the payout shown is what settlement paid (the market\'s settlement, the program\'s arithmetic).')
        : null,
    );
  }

  private row({ address: at, data: p }: Decoded<Policy>, m: MarketView | undefined, name: string, now: bigint, decimals: number, closed: boolean): HTMLElement {
    const sym = this.symbol;
    const triggered = m && m.market.status === MarketStatus.Triggered && m.market.event.epoch === p.epoch ? m : undefined;
    let phase: PolicyPhase;
    let payout = p.payout;
    if (!closed || p.status === PolicyStatus.Settled) {
      // on chain, or seen settled before it was closed: the program's own status and payout, not recomputed
      phase = policyPhase(p, now, m?.market);
    } else {
      // closed before this browser saw it settled: settlement's arithmetic on its market's settlement
      // what settlement paid a policy no longer on chain (null: its market did not trigger in its epoch)
      const due = m ? expectedPayout(p, m.market) : null;
      payout = due?.payout ?? 0n;
      const endedBefore = !!m && p.endTime <= m.market.event.streakStart; // over before the depeg began: nothing to settle
      phase = due === null || (!due.eligible && endedBefore) ? 'ended' : due.eligible && payout > 0n ? 'paid' : 'settled';
    }
    const cut = triggered ? haircut(triggered) : 0;
    const haircutText = cut > 0 ? `after a ${percent(cut)} haircut` : 'in full, no haircut';
    let status: (Node | string)[];
    switch (phase) {
      case 'pending':
        status = [h('span', { class: 'badge muted' }, 'Pending activation'), ` starts in ${duration(p.activationTime - now)}`];
        break;
      case 'active':
        status = [h('span', { class: 'badge ok' }, 'Active'), ` ends in ${duration(p.endTime - now)}`];
        break;
      case 'ended':
        status = [h('span', { class: 'badge muted' }, 'Ended')];
        break;
      case 'claimable': {
        const due = expectedPayout(p, triggered!.market);
        status = [h('span', { class: 'badge warn' }, 'Triggered'), ` payout due: ${tokens(due?.payout ?? 0n, decimals)} ${sym}, ${haircutText}`];
        break;
      }
      case 'paid':
        status = [h('span', { class: 'badge bad' }, `Paid ${tokens(payout, decimals)} ${sym}`), ` ${triggered ? haircutText : ''}`];
        break;
      case 'settled':
        status = [h('span', { class: 'badge muted' }, 'Settled with zero'), ' not in force when the depeg began'];
        break;
    }
    return h('tr', { 'data-testid': `policy-${at}`, 'data-phase': phase },
      h('th', { scope: 'row' }, name, h('small', { class: 'mono' }, ` #${p.id}`), closed ? h('small', {}, ' · closed') : null),
      h('td', { 'data-label': 'Cover', class: 'num' }, `${tokens(p.amount, decimals)} ${sym}`),
      h('td', { 'data-label': 'Premium', class: 'num' }, `${tokens(p.premium, decimals)} ${sym}`),
      h('td', { 'data-label': 'Term' }, `${dateTime(p.activationTime).replace(' UTC', '')} → ${dateTime(p.endTime)}`),
      h('td', { 'data-label': 'Status', 'data-testid': 'policy-status' }, ...status),
    );
  }
}

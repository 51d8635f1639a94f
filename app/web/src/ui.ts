/** Small DOM helpers: elements, display formats. No framework. */
import { formatAmount, formatPrice } from '@coverage-pool/client';

type Child = Node | string | number | bigint | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

/** `h('button', { class: 'primary', onclick: … }, 'Buy')`: an element with attributes, listeners (`on…`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces the children of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  // views re-render every second or two: a control that had the keyboard focus
  // gets it back in its new copy (found by test id or id), or a keyboard user is
  // thrown back to the page's start
  const active = document.activeElement;
  const key = active && active !== el && el.contains(active) ? focusKey(active) : null;
  // several controls may share a test id (one per wallet): the same one by its place among them
  const place = key ? [...el.querySelectorAll(key)].indexOf(active!) : -1;
  el.replaceChildren();
  append(el, children);
  if (key) el.querySelectorAll<HTMLElement>(key)[place]?.focus();
}

/** A selector for the same control in a re-rendered copy, if it has a name: its id, else its test id. */
function focusKey(e: Element): string | null {
  if (e.id) return `#${CSS.escape(e.id)}`;
  const id = e.getAttribute('data-testid');
  return id ? `[data-testid="${CSS.escape(id)}"]` : null;
}

/** An SVG element (charts). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Whole tokens with grouped thousands, at most `digits` decimals (rounded down). */
export function tokens(units: bigint, decimals: number, digits = 2): string {
  const scale = 10n ** BigInt(Math.max(decimals - digits, 0));
  return formatAmount((units / scale) * scale, decimals);
}

/** A number of base units with exactly `digits` decimals (share prices). */
export function fixed(units: bigint, decimals: number, digits: number): string {
  const s = formatAmount(units, decimals);
  const [whole, frac = ''] = s.split('.');
  return `${whole}.${frac.padEnd(digits, '0').slice(0, digits)}`;
}

/** A USD price `value × 10^exponent` with 4 decimals: `$0.9970`, `$1.0000`. */
export function usdPrice(value: bigint, exponent: number): string {
  const [whole, frac = ''] = formatPrice(value, exponent, 4).split('.');
  return `$${whole}.${frac.padEnd(4, '0')}`;
}

/** Basis points as a percentage: `1234` → `12.34 %`. */
export function percent(bps: number | bigint, digits = 2): string {
  return `${(Number(bps) / 100).toFixed(digits)} %`;
}

/** `Ab12…Yz89`. */
export function short(address: string): string {
  return `${address.slice(0, 4)}…${address.slice(-4)}`;
}

/** A unix time as `2023-03-11 14:30 UTC`. */
export function dateTime(unix: bigint | number): string {
  return new Date(Number(unix) * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** Seconds as `6 d 23 h 59 min`, `4 h 05 min 10 s`, `12 min 30 s`, `45 s`: a countdown that visibly moves. */
export function duration(seconds: bigint | number): string {
  let s = Math.max(0, Math.floor(Number(seconds)));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const hr = Math.floor(s / 3_600);
  s -= hr * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const two = (x: number) => String(x).padStart(2, '0');
  if (d > 0) return hr === 0 && m === 0 ? `${d} d` : `${d} d ${hr} h ${two(m)} min`;
  if (hr > 0) return `${hr} h ${two(m)} min ${two(s)} s`;
  if (m > 0) return `${m} min ${two(s)} s`;
  return `${s} s`;
}

/** A fixed length of time in words: `1 hour`, `7 days`, `90 min`; else as {@link duration}. */
export function span(seconds: number): string {
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds > 0 && seconds % 86_400 === 0) return plural(seconds / 86_400, 'day');
  if (seconds > 0 && seconds % 3_600 === 0) return plural(seconds / 3_600, 'hour');
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60} min`;
  return duration(seconds);
}

/** A labelled field: `<label for>` names the control; the hint describes it (`aria-describedby`). */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement, hint?: Node | string): HTMLElement {
  const hintId = hint ? `${input.id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { class: 'label', for: input.id }, label),
    input,
    hint ? h('span', { class: 'hint', id: hintId }, hint) : null,
  );
}

/** A definition row for the key figures of a card. */
export function stat(label: string, value: Child, testid?: string): HTMLElement {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', { 'data-testid': testid }, value));
}

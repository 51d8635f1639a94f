/**
 * The golden vectors written by the Rust side (`tests/tests/vectors.rs`):
 * loading, and turning decoded TypeScript values into the vectors' canonical
 * JSON (snake_case keys, 64-bit integers as decimal strings, bytes as hex,
 * enums by name) so the two can be compared whole.
 */
import { readFileSync } from 'node:fs';
import { address, createNoopSigner, type Address } from '@solana/kit';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const golden: Json = JSON.parse(readFileSync(new URL('./golden.json', import.meta.url), 'utf8'));
export const idl: Json = JSON.parse(readFileSync(new URL('../../../idl/coverage_pool.json', import.meta.url), 'utf8'));

export const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
export const toHex = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export const big = (s: string): bigint => BigInt(s);
export const addr = (s: string): Address => address(s);
export const signer = (s: string) => createNoopSigner(address(s));

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Canonical JSON of a decoded value. `enums` maps a field name to the
 * generated TypeScript enum it holds (scalar enums decode to numbers).
 */
export function canon(v: unknown, enums: Record<string, Record<number, string>> = {}, field = ''): Json {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return field in enums ? enums[field]![v] : v;
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map((x) => canon(x, enums));
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('__option' in o) return o['__option'] === 'Some' ? canon(o['value'], enums) : null;
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(o)) {
      if (k === 'discriminator') continue;
      if (k === '__kind') out['kind'] = x;
      else out[snake(k)] = canon(x, enums, snake(k));
    }
    return out;
  }
  throw new Error(`no canonical form for ${String(v)}`);
}

/** A core result vector: `{ ok }` or `{ error: name }`, compared with what `f` returns or throws. */
export function outcome<T>(f: () => T, ok: (x: T) => Json): Json {
  try {
    return { ok: ok(f()) };
  } catch (e) {
    const name = (e as { errorName?: string }).errorName;
    if (!name) throw e;
    return { error: name };
  }
}

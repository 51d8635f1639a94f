/**
 * Where the page reads from: the RPC URL (and its websocket), the pool, the
 * wallet chain, how to confirm. Each is a query parameter, else a build-time
 * variable (`VITE_…`), else the localnet default:
 *
 * | setting | query | build variable | default |
 * |---|---|---|---|
 * | JSON-RPC URL | `?rpc=` | `VITE_RPC_URL` | `http://127.0.0.1:8899` (`cover localnet`) |
 * | websocket URL | `?ws=` | `VITE_WS_URL` | the RPC's, port + 1 when it has a port |
 * | pool address | `?pool=` | `VITE_POOL` | `cover localnet`'s (asked with `localnet_info`) |
 * | wallet chain | `?chain=` | `VITE_CHAIN` | from the URL: `solana:devnet`, `…:testnet`, `…:mainnet`, else `…:localnet` |
 * | confirmation | `?confirm=polling` | `VITE_CONFIRM` | `websocket` |
 * | collateral symbol | `?symbol=` | `VITE_SYMBOL` | `USDC` |
 */
import { address, type Address } from '@solana/kit';

export type Config = {
  rpc: string;
  ws: string;
  pool?: Address;
  chain: `solana:${string}`;
  confirm: 'websocket' | 'polling';
  symbol: string;
};

/** The websocket URL of an RPC URL: same host, `ws(s)`, port + 1 when a port is given (as the Solana tools do). */
export function websocketUrl(rpc: string): string {
  const url = new URL(rpc);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.port) url.port = String(Number(url.port) + 1);
  return url.toString().replace(/\/$/, '');
}

/** The Wallet Standard chain an RPC URL belongs to. */
export function chainOf(rpc: string): `solana:${string}` {
  const host = new URL(rpc).hostname;
  if (host.includes('devnet')) return 'solana:devnet';
  if (host.includes('testnet')) return 'solana:testnet';
  if (host.includes('mainnet')) return 'solana:mainnet';
  return 'solana:localnet';
}

export function readConfig(search: string = location.search, env: Record<string, string | undefined> = import.meta.env): Config {
  const q = new URLSearchParams(search);
  const pick = (name: string, variable: string) => q.get(name) || env[variable] || undefined;
  const rpc = pick('rpc', 'VITE_RPC_URL') ?? 'http://127.0.0.1:8899';
  const pool = pick('pool', 'VITE_POOL');
  const chain = pick('chain', 'VITE_CHAIN');
  return {
    rpc,
    ws: pick('ws', 'VITE_WS_URL') ?? websocketUrl(rpc),
    pool: pool ? address(pool) : undefined,
    chain: chain ? (chain.startsWith('solana:') ? (chain as `solana:${string}`) : `solana:${chain}`) : chainOf(rpc),
    confirm: pick('confirm', 'VITE_CONFIRM') === 'polling' ? 'polling' : 'websocket',
    symbol: pick('symbol', 'VITE_SYMBOL') ?? 'USDC',
  };
}

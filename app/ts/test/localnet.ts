/**
 * `cover localnet` and `cover keeper run` as child processes of a test: the
 * binary is built once per test process (`cargo build -p cover-cli`, a
 * no-op when fresh; `COVER_BIN` skips it), each node listens on a free
 * loopback port pair (`--port 0`), its ready line is parsed, and every child
 * is stopped (SIGINT, then SIGKILL) when the test ends or the process exits.
 *
 * Shared with the web page's browser tests (`@coverage-pool/client/testing`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKeyPairSignerFromBytes } from '@solana/kit';

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A market in the ready line. */
export type LocalnetMarket = { name: string; address: string; feed: string; feed_id: string; feed_account: string };

/** `cover localnet`'s ready line (and `localnet_info`). */
export type LocalnetInfo = {
  ready: true;
  rpc: string;
  ws: string;
  program_id: string;
  lender_program: string;
  pool: string;
  authority: string;
  mint: string;
  treasury: string;
  markets: LocalnetMarket[];
  clock: number;
  slot: number;
  speed: number;
  prices: { source: string; feed_id: string; feed_account: string; rows: number; first: number; last: number }[];
};

let built: string | undefined;

/**
 * Path of the `cover` binary, built once per process unless `COVER_BIN` names
 * one. Cargo says where it put it (`--message-format=json`: the artifact's
 * `executable`), so a `CARGO_TARGET_DIR` or a configured target dir is followed.
 */
export function coverBinary(): string {
  if (process.env['COVER_BIN']) return process.env['COVER_BIN'];
  if (!built) {
    const out = execFileSync('cargo', ['build', '--quiet', '-p', 'cover-cli', '--message-format=json-render-diagnostics'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const line of out.toString().split('\n')) {
      if (!line.startsWith('{')) continue;
      const m = JSON.parse(line) as { reason?: string; target?: { name?: string; kind?: string[] }; executable?: string | null };
      if (m.reason === 'compiler-artifact' && m.target?.name === 'cover' && m.target.kind?.includes('bin') && m.executable) built = m.executable;
    }
    if (!built) throw new Error('cargo build -p cover-cli reported no `cover` executable');
  }
  return built;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** A child process whose output is kept for error messages; stopped by `stop`. */
class Child {
  readonly stdout: string[] = [];
  stderr = '';
  private exited: Promise<number | null>;

  constructor(readonly name: string, readonly proc: ChildProcess) {
    children.add(proc);
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    this.exited = new Promise((r) => proc.on('exit', (code) => { children.delete(proc); r(code); }));
  }

  /** Waits for a stdout line matching `accept`, or fails after `ms` or if the process exits. */
  line(accept: (line: string) => boolean, ms: number): Promise<string> {
    return new Promise((ok, fail) => {
      let buf = '';
      const timer = setTimeout(() => done(new Error(`${this.name}: no expected line within ${ms} ms; stderr:\n${this.stderr}`)), ms);
      const onData = (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const l = buf.slice(0, i);
          buf = buf.slice(i + 1);
          this.stdout.push(l);
          if (accept(l)) return done(undefined, l);
        }
      };
      const onExit = (code: number | null) => done(new Error(`${this.name} exited (${code}) before it was ready; stderr:\n${this.stderr}`));
      const done = (e?: Error, l?: string) => {
        clearTimeout(timer);
        this.proc.stdout!.off('data', onData);
        this.proc.off('exit', onExit);
        // keep draining stdout so the child never blocks on a full pipe
        this.proc.stdout!.on('data', (d: Buffer) => this.stdout.push(...d.toString().split('\n').filter(Boolean)));
        e ? fail(e) : ok(l!);
      };
      this.proc.stdout!.on('data', onData);
      this.proc.on('exit', onExit);
    });
  }

  /** SIGINT, then SIGKILL after `graceMs`; resolves with the exit code (null if killed by a signal). */
  async stop(graceMs = 10_000): Promise<number | null> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return this.proc.exitCode;
    this.proc.kill('SIGINT');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** A running `cover localnet`. */
export type Localnet = {
  info: LocalnetInfo;
  /** Calls a JSON-RPC method (test controls included) and returns its result. */
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** SIGINT and wait (bounded). */
  stop(): Promise<void>;
};

/** A JSON-RPC call over HTTP; throws the RPC's error message. */
export async function rpcCall<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { code: number; message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
  return body.result as T;
}

/** Starts `cover localnet --port 0 …args` and waits (at most 120 s) for its ready line. */
export async function startLocalnet(args: string[] = []): Promise<Localnet> {
  const proc = spawn(coverBinary(), ['localnet', '--port', '0', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: 'error' },
  });
  const child = new Child('cover localnet', proc);
  const info = JSON.parse(await child.line((l) => l.startsWith('{'), 120_000)) as LocalnetInfo;
  if (info.ready !== true) throw new Error(`not a ready line: ${JSON.stringify(info)}`);
  return {
    info,
    call: (method, params) => rpcCall(info.rpc, method, params),
    stop: async () => {
      const code = await child.stop();
      if (code !== 0 && code !== null) throw new Error(`cover localnet exited with ${code}: ${child.stderr}`);
    },
  };
}

/** A running `cover keeper run`, with its JSON log lines. */
export type Keeper = { log: string[]; stop(): Promise<void> };

/** Writes a keypair (64 bytes) as a Solana CLI keypair file in a fresh temporary folder; returns its path. */
export function writeKeypairFile(bytes: Uint8Array): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cover-key-')), 'id.json');
  writeFileSync(path, JSON.stringify(Array.from(bytes)));
  return path;
}

/**
 * Starts `cover keeper run --pool <pool> --url <rpc> --keypair <keypairPath>
 * --interval <s>` (no metrics server) and waits for its start line.
 */
export async function startKeeper(localnet: Localnet, keypairPath: string, intervalSecs = 1): Promise<Keeper> {
  const proc = spawn(
    coverBinary(),
    ['keeper', 'run', '--pool', localnet.info.pool, '--url', localnet.info.rpc, '--keypair', keypairPath,
      '--interval', String(intervalSecs), '--metrics-port', '0'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: tmpdir(), RUST_LOG: 'error' } },
  );
  const child = new Child('cover keeper run', proc);
  await child.line((l) => l.includes('keeper started'), 60_000);
  return {
    log: child.stdout,
    stop: async () => {
      await child.stop();
    },
  };
}

/** Polls `check` every `everyMs` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000, everyMs = 250): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A fresh keypair as the Solana CLI writes it (64 bytes: secret seed, then public key). */
export function newKeypairBytes(): Uint8Array {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return Uint8Array.from([...seed, ...pub]);
}

/**
 * Gives `owner` `lamports` (an airdrop, waited for) and `collateral` base
 * units of the pool's collateral (`localnet_mintCollateral`, processed before it returns).
 */
export async function fund(net: Localnet, owner: string, lamports: bigint, collateral: bigint): Promise<void> {
  if (lamports > 0n) {
    const signature = await net.call<string>('requestAirdrop', [owner, Number(lamports)]);
    await waitFor(`the airdrop to ${owner}`, async () => {
      const { value } = await net.call<{ value: ({ confirmationStatus: string; err: unknown } | null)[] }>('getSignatureStatuses', [[signature]]);
      if (value[0]?.err) throw new Error(`airdrop failed: ${JSON.stringify(value[0].err)}`);
      return value[0]?.confirmationStatus === 'confirmed' || value[0]?.confirmationStatus === 'finalized';
    }, 30_000, 100);
  }
  if (collateral > 0n) await net.call('localnet_mintCollateral', [owner, Number(collateral)]);
}

/** Runs `cover <args> --url <rpc> --keypair <keypairPath> --json` to completion and returns its JSON output. */
export function cover(net: Localnet, keypairPath: string, args: string[]): unknown {
  const out = execFileSync(coverBinary(), [...args, '--url', net.info.rpc, '--keypair', keypairPath, '--json'], {
    cwd: REPO,
    env: { ...process.env, HOME: tmpdir(), RUST_LOG: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  return JSON.parse(out.toString());
}

/**
 * Capital for the pool from a staker of its own, through the `cover` CLI
 * (`cover stake deposit`): `tokens` whole collateral tokens into each of
 * `tranches`. Returns the staker's keypair file and address, for more `cover` commands.
 */
export async function stakeWithCli(net: Localnet, tokens: number, tranches: number[] = [0]): Promise<{ keypair: string; owner: string }> {
  const bytes = newKeypairBytes();
  const keypair = writeKeypairFile(bytes);
  const owner = (await createKeyPairSignerFromBytes(bytes)).address;
  await fund(net, owner, 1_000_000_000n, BigInt(tokens * tranches.length) * 1_000_000n);
  for (const tranche of tranches) {
    cover(net, keypair, ['stake', 'deposit', '--pool', net.info.pool, '--tranche', String(tranche), '--amount', String(tokens)]);
  }
  return { keypair, owner };
}

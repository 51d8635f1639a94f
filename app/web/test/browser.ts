/**
 * The browser tests' harness: the page built from the current source and
 * served by `vite preview`, Debian's Chromium driven by playwright-core
 * (headless), the test wallet injected before the page's code, and
 * `cover localnet` (from the client's test harness) behind it.
 */
import { mkdirSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as bundle } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { createKeyPairSignerFromBytes, type Address } from '@solana/kit';
import type { Localnet } from '@coverage-pool/client/testing';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(WEB, '../..');
/** Debian's Chromium (`apt-get install chromium`); `CHROMIUM` overrides. */
export const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

/** The test wallet's fixed keypair: seed 32 × 0x2a and its public key. */
export const WALLET_SEED = new Uint8Array(32).fill(42);

let served: Promise<{ server: PreviewServer; url: string }> | undefined;

/** Builds the page into a fresh folder (once per test process) and serves it on a free port. */
export function servePage(): Promise<{ server: PreviewServer; url: string }> {
  served ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'cover-web-'));
    await build({ root: WEB, logLevel: 'error', build: { outDir, emptyOutDir: true } });
    const server = await preview({ root: WEB, logLevel: 'error', build: { outDir }, preview: { port: 0, strictPort: false, host: '127.0.0.1' } });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview gave no URL');
    return { server, url };
  })();
  return served;
}

let walletScript: Promise<string> | undefined;

/** The test wallet bundled into one script for `addInitScript`. */
function testWalletScript(): Promise<string> {
  walletScript ??= bundle({
    entryPoints: [join(WEB, 'test/wallet/test-wallet.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  }).then((r) => r.outputFiles[0]!.text);
  return walletScript;
}

/** The test wallet's 64-byte secret key (seed + public key) and address. */
export async function walletKeypair(): Promise<{ bytes: Uint8Array; address: Address }> {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(WALLET_SEED)]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' }).subarray(-32);
  const bytes = Uint8Array.from([...WALLET_SEED, ...pub]);
  return { bytes, address: (await createKeyPairSignerFromBytes(bytes)).address };
}

export type Session = {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Errors the page threw or logged. */
  errors: string[];
  /** URLs of the websockets the page opened (kit's confirmation subscriptions). */
  websockets: string[];
  close(): Promise<void>;
};

/**
 * Chromium with the test wallet installed, on the page pointed at `net`
 * (`?rpc=…&ws=…`, plus `query`), at `view`. `viewport` defaults to a laptop.
 */
export async function openPage(
  net: Localnet,
  options: {
    view?: string;
    query?: Record<string, string>;
    viewport?: { width: number; height: number };
    deviceScaleFactor?: number;
    /** The chain the test wallet reports (default `solana:localnet`). */
    walletChain?: `solana:${string}`;
  } = {},
): Promise<Session> {
  const { url } = await servePage();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    deviceScaleFactor: options.deviceScaleFactor ?? 1,
    isMobile: (options.viewport?.width ?? 1280) < 600,
    hasTouch: (options.viewport?.width ?? 1280) < 600,
  });
  const { bytes } = await walletKeypair();
  await context.addInitScript({ content: `${await testWalletScript()}\nwindow.installTestWallet(${JSON.stringify(Array.from(bytes))}, ${JSON.stringify(options.walletChain ?? 'solana:localnet')});` });
  const page = await context.newPage();
  const errors: string[] = [];
  const websockets: string[] = [];
  page.on('websocket', (ws) => websockets.push(ws.url()));
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  const query = new URLSearchParams({ rpc: net.info.rpc, ws: net.info.ws, ...options.query });
  await page.goto(`${url}?${query}#${options.view ?? 'pool'}`);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
  return {
    browser,
    context,
    page,
    errors,
    websockets,
    close: async () => {
      await context.close();
      await browser.close();
    },
  };
}

/**
 * Saves a screenshot of the page as `test-results/<name>.png`; with
 * `UPDATE_SCREENSHOTS=1` also as `docs/web-<name>.png` (the README's), unless `docs` is false.
 */
export async function screenshot(page: Page, name: string, { fullPage = true, docs = true } = {}): Promise<string> {
  const dir = join(WEB, 'test-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage, animations: 'disabled' });
  if (docs && process.env['UPDATE_SCREENSHOTS']) copyFileSync(path, join(REPO, 'docs', `web-${name}.png`));
  return path;
}

/** Stops the preview server (after the last test of a file). */
export async function stopServer(): Promise<void> {
  if (served) {
    const { server } = await served;
    await new Promise<void>((r) => server.httpServer.close(() => r()));
    served = undefined;
  }
}

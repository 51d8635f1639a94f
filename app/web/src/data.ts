/**
 * What the page shows, read from the cluster in a few batched requests and
 * computed with the TypeScript client only (its math is the program's, proven
 * by golden vectors): tranche assets after the premium due is earned, share
 * prices, premium scheduled for the next 7 days, capital and required capital,
 * each market's feed price, capacity and utilization; and for a connected
 * wallet its balances, shares, withdrawal requests and policies.
 */
import {
  getBase64Encoder,
  type Address,
  type GetAccountInfoApi,
  type GetBalanceApi,
  type GetMultipleAccountsApi,
  type GetProgramAccountsApi,
  type Rpc,
} from '@solana/kit';
import { getSysvarClockDecoder } from '@solana/sysvars';
import { findAssociatedTokenPda, getMintDecoder, getTokenDecoder } from '@solana-program/token';
import {
  accruePool,
  decodeAccountData,
  COVERAGE_POOL_PROGRAM_ADDRESS,
  decodePriceUpdate,
  fetchOwnedAccounts,
  PYTH_RECEIVER_PROGRAM,
  fetchPolicies,
  findBookPda,
  findLedgerPda,
  findMarketPda,
  findShareMintPda,
  findWithdrawalRequestPda,
  marketCapacity,
  poolCapital,
  poolRequiredCapital,
  pushFeedAddress,
  scheduledEarnings,
  sharePriceScaled,
  type CoverBook,
  type Decoded,
  type Market,
  type MarketCapacity,
  type Policy,
  type Pool,
  type PoolKeys,
  type PremiumLedger,
  type PriceAccount,
  type PriceUpdate,
  type QuoteAccounts,
  type WithdrawalRequest,
} from '@coverage-pool/client';

export type ReadRpc = Rpc<GetMultipleAccountsApi & GetProgramAccountsApi & GetBalanceApi & GetAccountInfoApi>;

const CLOCK = 'SysvarC1ock11111111111111111111111111111111' as Address;
const SYSVAR_OWNER = 'Sysvar1111111111111111111111111111111111111' as Address;
const DAY = 86_400n;

export type TrancheView = {
  index: number;
  name: string;
  /** Assets after the premium due up to now is earned. */
  assets: bigint;
  /** Share mint supply + dead shares. */
  totalShares: bigint;
  /** Share price in collateral base units per whole share (× 10^decimals). */
  sharePrice: bigint;
  /** Premium already paid that the ledger schedules into this tranche over the next 7 days. */
  next7d: bigint;
  /** That, as a yearly rate of the tranche's assets, bps (null for an empty tranche). */
  yearlyBps: number | null;
  weightBps: number;
  shareMint: Address;
};

export type MarketView = {
  index: number;
  address: Address;
  market: Market;
  book: CoverBook;
  feedAccount: Address;
  /** The feed account as read (its owner and data; null: none), for `saleRefusal`. */
  priceAccount: PriceAccount;
  /** Its price, when it is the Pyth receiver's price update. */
  feed: PriceUpdate | null;
  capacity: MarketCapacity;
  /** The accounts a quote reads (pool, ledger, market, book as fetched). */
  quote: QuoteAccounts;
};

export type UserView = {
  address: Address;
  lamports: bigint;
  collateralAccount: Address;
  collateral: bigint;
  shareAccounts: Address[];
  shares: bigint[];
  requests: (Decoded<WithdrawalRequest> | null)[];
  policies: Decoded<Policy>[];
  /** Remembered policies that still exist under another owner: transferred, not closed. */
  transferred: Address[];
};

export type Snapshot = {
  /** Wall time of the read (ms), to tick the cluster clock between reads. */
  fetchedAt: number;
  /** The cluster's clock. */
  now: bigint;
  poolAddress: Address;
  keys: PoolKeys;
  pool: Pool;
  ledger: PremiumLedger;
  /** The pool as every instruction sees it now: premium due earned. */
  accrued: Pool;
  decimals: number;
  capital: bigint;
  required: bigint;
  tranches: TrancheView[];
  markets: MarketView[];
  user?: UserView;
};

/** Tranche names by position: junior first, senior last. */
export function trancheName(index: number, count: number): string {
  if (index === 0) return 'Junior';
  if (index === count - 1) return 'Senior';
  return count === 3 ? 'Mezzanine' : `Mezzanine ${index}`;
}


/** The addresses of a pool that do not change between reads. */
type Layout = { ledger: Address; markets: Address[]; books: Address[]; shareMints: Address[] };
const layouts = new Map<string, Layout>();

async function layoutOf(poolAddress: Address, pool: Pool): Promise<Layout> {
  const key = `${poolAddress}/${pool.marketCount}/${pool.trancheCount}`;
  let l = layouts.get(key);
  if (!l) {
    const markets = await Promise.all(Array.from({ length: pool.marketCount }, async (_, i) => (await findMarketPda(poolAddress, i))[0]));
    l = {
      ledger: (await findLedgerPda(poolAddress))[0],
      markets,
      books: await Promise.all(markets.map(async (m) => (await findBookPda(m))[0])),
      shareMints: await Promise.all(Array.from({ length: pool.trancheCount }, async (_, i) => (await findShareMintPda(poolAddress, i))[0])),
    };
    layouts.set(key, l);
  }
  return l;
}

/**
 * Raw accounts, each checked to be owned by the program that owns such
 * accounts before anything decodes it (an `AccountOwnerError` otherwise): the
 * same bytes under another program are not the pool's state.
 */
function getAccounts(rpc: ReadRpc, items: (readonly [Address, Address])[]) {
  return fetchOwnedAccounts(rpc, items);
}
const owned = (owner: Address) => (a: Address) => [a, owner] as const;

/** Reads everything the page shows, for `owner` too when a wallet is connected. */
export async function loadSnapshot(rpc: ReadRpc, poolAddress: Address, owner?: Address, watched: readonly Address[] = []): Promise<Snapshot> {
  const program = owned(COVERAGE_POOL_PROGRAM_ADDRESS);
  const [poolData] = await getAccounts(rpc, [program(poolAddress)]);
  if (!poolData) throw new Error(`no pool at ${poolAddress}: check the RPC URL and the pool address`);
  const pool0 = decodeAccountData('Pool', poolData);
  const layout = await layoutOf(poolAddress, pool0);
  const feeds: Address[] = [];
  const first = await getAccounts(rpc, [
    [CLOCK, SYSVAR_OWNER],
    ...[poolAddress, layout.ledger, ...layout.markets, ...layout.books].map(program),
    ...layout.shareMints.map(owned(pool0.tokenProgram)),
  ]);
  const fetchedAt = Date.now();
  const now = getSysvarClockDecoder().decode(first[0]!).unixTimestamp;
  const pool = decodeAccountData('Pool', first[1]!);
  const ledger = decodeAccountData('PremiumLedger', first[2]!);
  let i = 3;
  const markets = layout.markets.map(() => decodeAccountData('Market', first[i++]!));
  const books = layout.books.map(() => decodeAccountData('CoverBook', first[i++]!));
  const supplies = layout.shareMints.map(() => {
    const data = first[i++];
    return data ? getMintDecoder().decode(data).supply : 0n;
  });
  for (const m of markets) feeds.push(await pushFeedAddress(m.feedId));

  const keys: PoolKeys = { pool: poolAddress, collateralMint: pool.collateralMint, tokenProgram: pool.tokenProgram };
  const userAddresses: Address[] = [];
  if (owner) {
    const ata = async (mint: Address) => (await findAssociatedTokenPda({ owner, mint, tokenProgram: pool.tokenProgram }))[0];
    userAddresses.push(await ata(pool.collateralMint));
    for (const mint of layout.shareMints) userAddresses.push(await ata(mint));
    for (let t = 0; t < pool.trancheCount; t++) userAddresses.push((await findWithdrawalRequestPda(poolAddress, t, owner))[0]);
  }
  // feeds are read whoever owns them: one that is not the receiver's is a market that sells nothing (saleRefusal), not a broken page
  const [priceAccounts, second, policies, lamports] = await Promise.all([
    rpc
      .getMultipleAccounts(feeds, { encoding: 'base64' })
      .send()
      .then(({ value }) => value.map((a): PriceAccount => (a ? { owner: a.owner, data: new Uint8Array(getBase64Encoder().encode(a.data[0])) } : null))),
    getAccounts(rpc, [
      ...userAddresses.slice(0, 1 + pool.trancheCount).map(owned(pool.tokenProgram)),
      ...userAddresses.slice(1 + pool.trancheCount).map(program),
    ]),
    owner ? fetchPolicies(rpc, { owner }) : Promise.resolve([]),
    owner ? rpc.getBalance(owner).send().then((r) => r.value) : Promise.resolve(0n),
  ]);
  // remembered policies no longer listed for the owner: gone (closed), or there under another owner (transferred)
  const listed = new Set<string>(policies.map((p) => p.address));
  const missing = owner ? watched.filter((a) => !listed.has(a)) : [];
  const stillThere = missing.length ? (await rpc.getMultipleAccounts(missing, { encoding: 'base64' }).send()).value : [];
  const transferred = missing.filter((a, i) => {
    const account = stillThere[i];
    if (!account) return false;
    // not the program's policy any more (or never was): nothing to show for it either
    if (account.owner !== COVERAGE_POOL_PROGRAM_ADDRESS) return true;
    try {
      return decodeAccountData('Policy', new Uint8Array(getBase64Encoder().encode(account.data[0]))).owner !== owner;
    } catch {
      return true;
    }
  });
  const feedData = priceAccounts.map((a) => {
    if (!a || a.owner !== PYTH_RECEIVER_PROGRAM) return null;
    try {
      return decodePriceUpdate(a.data);
    } catch {
      return null; // not a price update: shown as no price
    }
  });

  // the pool as the program sees it now, and what the next 7 days of the ledger's schedule give each tranche
  const accrued = accruePool(pool, ledger, now).pool;
  const next7d = scheduledEarnings(pool, ledger, now, now + 7n * DAY);
  const tranches: TrancheView[] = accrued.tranches.slice(0, pool.trancheCount).map((t, index) => {
    const totalShares = supplies[index]! + t.deadShares;
    const scale = 10n ** BigInt(pool.collateralDecimals);
    return {
      index,
      name: trancheName(index, pool.trancheCount),
      assets: t.assets,
      totalShares,
      sharePrice: sharePriceScaled(t.assets, totalShares, scale),
      next7d: next7d[index]!,
      // a yearly rate at the pace of the next 7 days: earned / assets × 365 / 7
      yearlyBps: t.assets > 0n ? Number((next7d[index]! * 10_000n * 365n) / (t.assets * 7n)) : null,
      weightBps: t.premiumWeightBps,
      shareMint: layout.shareMints[index]!,
    };
  });
  const marketViews: MarketView[] = markets.map((market, index) => {
    const quote = { pool, ledger, market, book: books[index]! };
    return {
      index,
      address: layout.markets[index]!,
      market,
      book: books[index]!,
      feedAccount: feeds[index]!,
      priceAccount: priceAccounts[index]!,
      feed: feedData[index]!,
      capacity: marketCapacity(quote, now),
      quote,
    };
  });

  let user: UserView | undefined;
  if (owner) {
    const u = second;
    const n = pool.trancheCount;
    const token = (d: Uint8Array | null) => (d ? getTokenDecoder().decode(d).amount : 0n);
    user = {
      address: owner,
      lamports,
      collateralAccount: userAddresses[0]!,
      collateral: token(u[0] ?? null),
      shareAccounts: userAddresses.slice(1, 1 + n),
      shares: u.slice(1, 1 + n).map((d) => token(d ?? null)),
      requests: u.slice(1 + n, 1 + 2 * n).map((d, t) =>
        d ? { address: userAddresses[1 + n + t]!, data: decodeAccountData('WithdrawalRequest', d) } : null,
      ),
      policies: policies.sort((a, b) => Number(b.data.purchasedAt - a.data.purchasedAt)),
      transferred,
    };
  }

  return {
    fetchedAt,
    now,
    poolAddress,
    keys,
    pool,
    ledger,
    accrued,
    decimals: pool.collateralDecimals,
    capital: poolCapital(accrued),
    required: poolRequiredCapital(pool, markets, books, now),
    tranches,
    markets: marketViews,
    user,
  };
}

/** The cluster's clock now, ticked from the last read by wall time. */
export function clockNow(s: Snapshot): bigint {
  return s.now + BigInt(Math.floor((Date.now() - s.fetchedAt) / 1000));
}

/**
 * Reading the program's accounts over RPC: a buyer's policies (a
 * `getProgramAccounts` with memcmp filters), the accounts a quote needs, and
 * what `withdraw` needs to be given. Data is decoded with the checked
 * decoders: an account of the wrong type or size is an error, never garbage.
 */
import { fetchSysvarClock } from '@solana/sysvars';
import {
  getBase64Encoder,
  type Address,
  type GetAccountInfoApi,
  type GetMultipleAccountsApi,
  type GetProgramAccountsApi,
  type Rpc,
  type AccountMeta,
} from '@solana/kit';
import { decodeAccountData, policyFilters, type AccountType, type AccountTypes } from './accounts';
import { COVERAGE_POOL_PROGRAM_ADDRESS, type Policy } from './generated';
import { findBookPda, findLedgerPda, findMarketPda } from './pdas';
import { pushFeedAddress } from './pyth';
import type { QuoteAccounts } from './quote';

/** An account of the program with its address. */
export type Decoded<T> = { address: Address; data: T };

/** The program's policies owned by `owner` (and/or of `market`), decoded. */
export async function fetchPolicies(
  rpc: Rpc<GetProgramAccountsApi>,
  by: { owner?: Address; market?: Address },
): Promise<Decoded<Policy>[]> {
  const accounts = await rpc
    .getProgramAccounts(COVERAGE_POOL_PROGRAM_ADDRESS, { encoding: 'base64', filters: policyFilters(by) })
    .send();
  return accounts.map(({ pubkey, account }) => ({
    address: pubkey,
    data: decodeAccountData('Policy', getBase64Encoder().encode(account.data[0])),
  }));
}

/** Accounts of the given types at `addresses`, decoded; throws if one is missing. */
export async function fetchDecoded<K extends AccountType>(
  rpc: Rpc<GetMultipleAccountsApi>,
  items: readonly (readonly [K, Address])[],
): Promise<AccountTypes[K][]> {
  const { value } = await rpc
    .getMultipleAccounts(
      items.map(([, a]) => a),
      { encoding: 'base64' },
    )
    .send();
  return value.map((account, i) => {
    const [type, address] = items[i]!;
    if (!account) throw new Error(`${type} account ${address} does not exist`);
    return decodeAccountData(type, getBase64Encoder().encode(account.data[0]));
  });
}

/** The four accounts a quote of `market` reads (`quotePremium`, `marketCapacity`), in one request. */
export async function fetchQuoteAccounts(
  rpc: Rpc<GetMultipleAccountsApi>,
  pool: Address,
  market: Address,
): Promise<QuoteAccounts> {
  const [ledger] = await findLedgerPda(pool);
  const [book] = await findBookPda(market);
  const [p, l, m, b] = await fetchDecoded(rpc, [
    ['Pool', pool],
    ['PremiumLedger', ledger],
    ['Market', market],
    ['CoverBook', book],
  ] as const);
  return {
    pool: p as AccountTypes['Pool'],
    ledger: l as AccountTypes['PremiumLedger'],
    market: m as AccountTypes['Market'],
    book: b as AccountTypes['CoverBook'],
  };
}

/**
 * The price update `withdraw` reads for each market of the pool, in index
 * order: each market's push-feed account (derived from its feed id). Give
 * them to `buildWithdraw` as `priceUpdates`.
 */
export async function fetchWithdrawPriceUpdates(
  rpc: Rpc<GetMultipleAccountsApi>,
  pool: Address,
): Promise<Address[]> {
  const [p] = await fetchDecoded(rpc, [['Pool', pool]] as const);
  const markets: Address[] = [];
  for (let i = 0; i < p!.marketCount; i++) {
    markets.push((await findMarketPda(pool, i))[0]);
  }
  const decoded = await fetchDecoded(
    rpc,
    markets.map((m) => ['Market', m] as const),
  );
  return Promise.all(decoded.map((m) => pushFeedAddress((m as AccountTypes['Market']).feedId)));
}

/**
 * The cluster's time (the Clock sysvar's unix timestamp): what the program
 * reads as `now`. Quote, value and time windows with it rather than the
 * machine's clock, which drifts from the cluster's (and on `cover localnet`
 * may be far from it).
 */
export async function fetchUnixTimestamp(rpc: Rpc<GetAccountInfoApi>): Promise<bigint> {
  return (await fetchSysvarClock(rpc)).unixTimestamp;
}

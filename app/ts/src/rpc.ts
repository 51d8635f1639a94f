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

/**
 * An account that is not owned by the program expected to own it: its data
 * is not decoded (anyone can create an account with the right discriminator
 * under another program; only the owner's accounts are the program's state).
 */
export class AccountOwnerError extends Error {
  /** Named as the Anchor framework's check of the same thing. */
  readonly errorName = 'AccountOwnedByWrongProgram';
  constructor(
    readonly address: Address,
    readonly owner: Address,
    readonly expected: Address,
    what: string,
  ) {
    super(`${what} ${address} is owned by ${owner}, not by ${expected}: refusing to read it`);
    this.name = 'AccountOwnerError';
  }
}

/** An account that does not exist where one was required. */
export class AccountMissingError extends Error {
  readonly errorName = 'AccountNotInitialized';
  constructor(
    readonly address: Address,
    what: string,
  ) {
    super(`${what} account ${address} does not exist`);
    this.name = 'AccountMissingError';
  }
}

/**
 * The raw data of `items` (address, the program that must own it) in one
 * request: `null` for an account that does not exist, an
 * {@link AccountOwnerError} for one owned by another program.
 */
export async function fetchOwnedAccounts(
  rpc: Rpc<GetMultipleAccountsApi>,
  items: readonly (readonly [Address, Address])[],
): Promise<(Uint8Array | null)[]> {
  if (items.length === 0) return [];
  const { value } = await rpc
    .getMultipleAccounts(
      items.map(([a]) => a),
      { encoding: 'base64' },
    )
    .send();
  return value.map((account, i) => {
    const [address, owner] = items[i]!;
    if (!account) return null;
    if (account.owner !== owner) throw new AccountOwnerError(address, account.owner, owner, 'account');
    return new Uint8Array(getBase64Encoder().encode(account.data[0]));
  });
}

/**
 * Accounts of the given types at `addresses`, decoded, each checked to be
 * owned by the program (`programAddress`) first; throws an
 * {@link AccountMissingError} if one is missing.
 */
export async function fetchDecoded<K extends AccountType>(
  rpc: Rpc<GetMultipleAccountsApi>,
  items: readonly (readonly [K, Address])[],
  programAddress: Address = COVERAGE_POOL_PROGRAM_ADDRESS,
): Promise<AccountTypes[K][]> {
  const { value } = await rpc
    .getMultipleAccounts(
      items.map(([, a]) => a),
      { encoding: 'base64' },
    )
    .send();
  return value.map((account, i) => {
    const [type, address] = items[i]!;
    if (!account) throw new AccountMissingError(address, type);
    if (account.owner !== programAddress) throw new AccountOwnerError(address, account.owner, programAddress, `the ${type} account`);
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

/**
 * Account decoding that refuses what is not the account it claims to be: the
 * generated decoders read any bytes; these check the 8-byte discriminator and
 * the size first and say clearly what is wrong. Also the layout facts that
 * `getProgramAccounts` filters need (sizes, field offsets), derived from the
 * generated codecs so a layout change in the IDL moves them too.
 */
import {
  getAddressDecoder,
  getBase58Decoder,
  type Address,
  type Base58EncodedBytes,
  type Decoder,
  type Encoder,
  type GetProgramAccountsDatasizeFilter,
  type GetProgramAccountsMemcmpFilter,
  type ReadonlyUint8Array,
} from '@solana/kit';
import {
  COVER_BOOK_DISCRIMINATOR,
  MARKET_DISCRIMINATOR,
  POLICY_DISCRIMINATOR,
  POOL_DISCRIMINATOR,
  PREMIUM_LEDGER_DISCRIMINATOR,
  WITHDRAWAL_REQUEST_DISCRIMINATOR,
  getCoverBookDecoder,
  getCoverBookEncoder,
  getMarketDecoder,
  getMarketEncoder,
  getPolicyDecoder,
  getPolicyEncoder,
  getPoolDecoder,
  getPoolEncoder,
  getPremiumLedgerDecoder,
  getPremiumLedgerEncoder,
  getWithdrawalRequestDecoder,
  getWithdrawalRequestEncoder,
  type CoverBook,
  type Market,
  type Policy,
  type Pool,
  type PremiumLedger,
  type WithdrawalRequest,
} from './generated';

/** Every account type of the program, by its IDL name. */
export type AccountTypes = {
  Pool: Pool;
  Market: Market;
  CoverBook: CoverBook;
  PremiumLedger: PremiumLedger;
  Policy: Policy;
  WithdrawalRequest: WithdrawalRequest;
};
export type AccountType = keyof AccountTypes;

type Layout<T> = {
  discriminator: ReadonlyUint8Array;
  decoder: Decoder<T>;
  // the encoders' argument types differ (`number | bigint` inputs); they are only fed decoded values
  encoder: Encoder<any>;
};

const LAYOUTS: { [K in AccountType]: Layout<AccountTypes[K]> } = {
  Pool: { discriminator: POOL_DISCRIMINATOR, decoder: getPoolDecoder(), encoder: getPoolEncoder() },
  Market: { discriminator: MARKET_DISCRIMINATOR, decoder: getMarketDecoder(), encoder: getMarketEncoder() },
  CoverBook: { discriminator: COVER_BOOK_DISCRIMINATOR, decoder: getCoverBookDecoder(), encoder: getCoverBookEncoder() },
  PremiumLedger: {
    discriminator: PREMIUM_LEDGER_DISCRIMINATOR,
    decoder: getPremiumLedgerDecoder(),
    encoder: getPremiumLedgerEncoder(),
  },
  Policy: { discriminator: POLICY_DISCRIMINATOR, decoder: getPolicyDecoder(), encoder: getPolicyEncoder() },
  WithdrawalRequest: {
    discriminator: WITHDRAWAL_REQUEST_DISCRIMINATOR,
    decoder: getWithdrawalRequestDecoder(),
    encoder: getWithdrawalRequestEncoder(),
  },
};

/** Names of every account type (for exhaustive checks). */
export const ACCOUNT_TYPES = Object.keys(LAYOUTS) as AccountType[];

/** Data that is not the account it was decoded as. */
export class AccountDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountDataError';
  }
}

const hex = (b: ReadonlyUint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const startsWith = (data: ReadonlyUint8Array, prefix: ReadonlyUint8Array) =>
  data.length >= prefix.length && prefix.every((b, i) => data[i] === b);

/**
 * Size of an account of `type` as the program allocates it (8-byte
 * discriminator + its space; for `Market`, whose queued change is an
 * `Option`, the largest encoding).
 */
export function accountSize(type: AccountType): number {
  const d = LAYOUTS[type].decoder;
  const size = 'fixedSize' in d ? d.fixedSize : d.maxSize;
  if (size === undefined) throw new Error(`${type} has no bounded size`);
  return size;
}

/** The account type whose discriminator `data` starts with, or `null`. */
export function accountTypeOf(data: ReadonlyUint8Array): AccountType | null {
  return ACCOUNT_TYPES.find((t) => startsWith(data, LAYOUTS[t].discriminator)) ?? null;
}

/**
 * Decodes `data` as an account of `type`, refusing data of another
 * discriminator or of the wrong size with an {@link AccountDataError} that
 * says what the data is instead.
 */
export function decodeAccountData<K extends AccountType>(type: K, data: ReadonlyUint8Array): AccountTypes[K] {
  const layout = LAYOUTS[type] as Layout<AccountTypes[K]>;
  if (!startsWith(data, layout.discriminator)) {
    const actual = accountTypeOf(data);
    throw new AccountDataError(
      `not a ${type} account: its discriminator is ${hex(data.slice(0, 8)) || '(empty data)'}, a ${type}'s is ` +
        `${hex(layout.discriminator)}` +
        (actual ? ` (the data is a ${actual} account)` : ' (no account type of this program)'),
    );
  }
  const size = accountSize(type);
  if (data.length !== size) {
    throw new AccountDataError(`a ${type} account is ${size} bytes, this data is ${data.length} bytes`);
  }
  return layout.decoder.decode(data);
}

export const decodePoolData = (data: ReadonlyUint8Array) => decodeAccountData('Pool', data);
export const decodeMarketData = (data: ReadonlyUint8Array) => decodeAccountData('Market', data);
export const decodeCoverBookData = (data: ReadonlyUint8Array) => decodeAccountData('CoverBook', data);
export const decodePremiumLedgerData = (data: ReadonlyUint8Array) => decodeAccountData('PremiumLedger', data);
export const decodePolicyData = (data: ReadonlyUint8Array) => decodeAccountData('Policy', data);
export const decodeWithdrawalRequestData = (data: ReadonlyUint8Array) => decodeAccountData('WithdrawalRequest', data);

/**
 * Byte offset of the address field `field` in an account of `type`, found by
 * encoding a blank account twice, the second time with that field changed:
 * the first differing byte is the field's. Follows the IDL's layout.
 */
export function addressFieldOffset<K extends AccountType>(type: K, field: keyof AccountTypes[K] & string): number {
  const { decoder, encoder } = LAYOUTS[type];
  const blank = decoder.decode(new Uint8Array(accountSize(type))) as Record<string, unknown>;
  if (typeof blank[field] !== 'string') throw new Error(`${type}.${field} is not an address field`);
  const marked = { ...blank, [field]: getAddressDecoder().decode(new Uint8Array(32).fill(0xff)) };
  const [a, b] = [encoder.encode(blank), encoder.encode(marked)];
  return a.findIndex((x: number, i: number) => x !== b[i]);
}

/** Where `Policy.owner` and `Policy.market` sit in a policy account. */
export const POLICY_OWNER_OFFSET = addressFieldOffset('Policy', 'owner');
export const POLICY_MARKET_OFFSET = addressFieldOffset('Policy', 'market');

type Filter = GetProgramAccountsMemcmpFilter | GetProgramAccountsDatasizeFilter;

const memcmp = (offset: number, bytes: ReadonlyUint8Array | Address): GetProgramAccountsMemcmpFilter => ({
  memcmp: {
    offset: BigInt(offset),
    bytes: (typeof bytes === 'string' ? bytes : getBase58Decoder().decode(bytes)) as Base58EncodedBytes,
    encoding: 'base58',
  },
});

/** `getProgramAccounts` filters selecting accounts of `type` (size and discriminator). */
export function accountTypeFilters(type: AccountType): Filter[] {
  return [{ dataSize: BigInt(accountSize(type)) }, memcmp(0, LAYOUTS[type].discriminator)];
}

/** `getProgramAccounts` filters selecting the policies of an owner and/or of a market. */
export function policyFilters(by: { owner?: Address; market?: Address }): Filter[] {
  const filters = accountTypeFilters('Policy');
  if (by.owner) filters.push(memcmp(POLICY_OWNER_OFFSET, by.owner));
  if (by.market) filters.push(memcmp(POLICY_MARKET_OFFSET, by.market));
  return filters;
}

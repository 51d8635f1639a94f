/**
 * Pyth price accounts (`coverage_sdk::pyth`). A market stores a feed id, never
 * an address; on mainnet Pyth keeps a sponsored push-feed `PriceUpdateV2`
 * account per feed at a PDA of its push oracle program, which `buy_cover` and
 * `check_trigger` can read. `decodePriceUpdate` reads one (the receiver SDK's
 * layout, held to it by golden vectors).
 */
import {
  address,
  fixDecoderSize,
  getAddressDecoder,
  getBytesDecoder,
  getDiscriminatedUnionDecoder,
  getI32Decoder,
  getI64Decoder,
  getProgramDerivedAddress,
  getStructDecoder,
  getU16Encoder,
  getU64Decoder,
  getU8Decoder,
  getUnitDecoder,
  type Address,
  type ReadonlyUint8Array,
} from '@solana/kit';

/** Pyth's push oracle program: owner of the push-feed PDAs' seeds. */
export const PYTH_PUSH_ORACLE_PROGRAM: Address = address('pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT');
/** Pyth's receiver program: owner of every `PriceUpdateV2` account. */
export const PYTH_RECEIVER_PROGRAM: Address = address('rec5EKMGg6MxZYaMdyBfgwp4d5rB9T1VQH5pJv5LtFJ');
/** The shard Pyth's sponsored feeds use. */
export const SPONSORED_SHARD = 0;

/** Address of the push-feed account of `feedId` on `shard`: PDA `[shard (u16 LE), feed_id]` of the push oracle. */
export async function pushFeedAddress(feedId: ReadonlyUint8Array, shard: number = SPONSORED_SHARD): Promise<Address> {
  if (feedId.length !== 32) throw new Error(`a feed id is 32 bytes, got ${feedId.length}`);
  const [pda] = await getProgramDerivedAddress({
    programAddress: PYTH_PUSH_ORACLE_PROGRAM,
    seeds: [getU16Encoder().encode(shard), feedId],
  });
  return pda;
}

/** A feed id from hex (with or without `0x`). */
export function parseFeedId(hex: string): Uint8Array {
  const h = hex.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(h)) throw new Error(`a feed id is 32 bytes (64 hex digits): ${hex}`);
  return Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
}

/** Hex of a feed id, `0x`-prefixed. */
export function feedIdHex(feedId: ReadonlyUint8Array): string {
  return '0x' + Array.from(feedId, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** How many Wormhole guardian signatures verified an update. */
export type VerificationLevel = { __kind: 'Partial'; numSignatures: number } | { __kind: 'Full' };

/** A `PriceUpdateV2` account: the price message of one feed (`pyth_solana_receiver_sdk::price_update`). */
export type PriceUpdate = {
  writeAuthority: Address;
  verificationLevel: VerificationLevel;
  feedId: ReadonlyUint8Array;
  /** Price × 10^exponent USD. */
  price: bigint;
  /** Confidence half-width, same scale. */
  conf: bigint;
  exponent: number;
  publishTime: bigint;
  prevPublishTime: bigint;
  emaPrice: bigint;
  emaConf: bigint;
  postedSlot: bigint;
};

/** Anchor discriminator of `PriceUpdateV2` (`sha256("account:PriceUpdateV2")[..8]`). */
export const PRICE_UPDATE_V2_DISCRIMINATOR = new Uint8Array([34, 241, 35, 99, 157, 126, 244, 205]);
/** Size of a `PriceUpdateV2` account (`PriceUpdateV2::LEN`). */
export const PRICE_UPDATE_V2_SIZE = 134;

const priceUpdateDecoder = getStructDecoder([
  ['writeAuthority', getAddressDecoder()],
  [
    'verificationLevel',
    getDiscriminatedUnionDecoder([
      ['Partial', getStructDecoder([['numSignatures', getU8Decoder()]])],
      ['Full', getUnitDecoder()],
    ]),
  ],
  ['feedId', fixDecoderSize(getBytesDecoder(), 32)],
  ['price', getI64Decoder()],
  ['conf', getU64Decoder()],
  ['exponent', getI32Decoder()],
  ['publishTime', getI64Decoder()],
  ['prevPublishTime', getI64Decoder()],
  ['emaPrice', getI64Decoder()],
  ['emaConf', getU64Decoder()],
  ['postedSlot', getU64Decoder()],
]);

/**
 * Decodes a `PriceUpdateV2` account's data, refusing data of another
 * discriminator or size (the receiver's accounts are `PRICE_UPDATE_V2_SIZE` bytes).
 */
export function decodePriceUpdate(data: ReadonlyUint8Array): PriceUpdate {
  if (!PRICE_UPDATE_V2_DISCRIMINATOR.every((b, i) => data[i] === b)) {
    throw new Error('not a Pyth PriceUpdateV2 account: wrong discriminator');
  }
  if (data.length !== PRICE_UPDATE_V2_SIZE) {
    throw new Error(`a PriceUpdateV2 account is ${PRICE_UPDATE_V2_SIZE} bytes, this data is ${data.length} bytes`);
  }
  return priceUpdateDecoder.decode(data, 8) as PriceUpdate;
}

/**
 * Reads a price update as the program does (`PriceUpdateV2::try_deserialize`):
 * the discriminator, then the fields; bytes after them are ignored. `null`
 * when the data is not one (the program's `OracleInvalidAccount`).
 */
export function readPriceUpdate(data: ReadonlyUint8Array): PriceUpdate | null {
  if (data.length < 8 || !PRICE_UPDATE_V2_DISCRIMINATOR.every((b, i) => data[i] === b)) return null;
  try {
    return priceUpdateDecoder.decode(data, 8) as PriceUpdate;
  } catch {
    return null;
  }
}

/**
 * A price `value × 10^exponent` as a decimal string, cut (not rounded) after
 * `maxFractionDigits`: `formatPrice(99701310n, -8)` is `"0.9970131"`.
 */
export function formatPrice(value: bigint, exponent: number, maxFractionDigits = 8): string {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  if (exponent >= 0) return `${sign}${abs * 10n ** BigInt(exponent)}`;
  const scale = 10n ** BigInt(-exponent);
  const frac = (abs % scale).toString().padStart(-exponent, '0').slice(0, maxFractionDigits).replace(/0+$/, '');
  return `${sign}${abs / scale}${frac ? `.${frac}` : ''}`;
}

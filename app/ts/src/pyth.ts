/**
 * Pyth price accounts (`coverage_sdk::pyth`). A market stores a feed id, never
 * an address; on mainnet Pyth keeps a sponsored push-feed `PriceUpdateV2`
 * account per feed at a PDA of its push oracle program, which `buy_cover` and
 * `check_trigger` can read.
 */
import { address, getProgramDerivedAddress, getU16Encoder, type Address, type ReadonlyUint8Array } from '@solana/kit';

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

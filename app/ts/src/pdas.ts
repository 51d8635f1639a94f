/**
 * Program-derived addresses of every account the program creates, one
 * function per seed layout (`coverage_sdk::pda`). Seeds come from the IDL's
 * constants (`idl.generated.ts`). Each returns kit's `[address, bump]`.
 */
import {
  getAddressEncoder,
  getProgramDerivedAddress,
  getU32Encoder,
  getU64Encoder,
  type Address,
  type ProgramDerivedAddress,
} from '@solana/kit';
import { COVERAGE_POOL_PROGRAM_ADDRESS } from './generated';
import { IDL_SEEDS } from './idl.generated';

const addr = (a: Address) => getAddressEncoder().encode(a);
const u8 = (x: number) => new Uint8Array([x]);
const derive = (seeds: (Uint8Array | ReturnType<typeof addr>)[], programAddress: Address = COVERAGE_POOL_PROGRAM_ADDRESS) =>
  getProgramDerivedAddress({ programAddress, seeds });

/** Pool `[POOL_SEED, creator, pool_id (u64 LE)]`. */
export function findPoolPda(creator: Address, poolId: bigint | number): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.POOL_SEED, addr(creator), getU64Encoder().encode(poolId)]);
}

/** Vault token account `[VAULT_SEED, pool]`. */
export function findVaultPda(pool: Address): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.VAULT_SEED, addr(pool)]);
}

/** Premium ledger `[LEDGER_SEED, pool]`. */
export function findLedgerPda(pool: Address): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.LEDGER_SEED, addr(pool)]);
}

/** Share mint of a tranche `[SHARE_MINT_SEED, pool, tranche]`. */
export function findShareMintPda(pool: Address, tranche: number): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.SHARE_MINT_SEED, addr(pool), u8(tranche)]);
}

/** Share escrow of a tranche `[SHARE_ESCROW_SEED, pool, tranche]`. */
export function findShareEscrowPda(pool: Address, tranche: number): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.SHARE_ESCROW_SEED, addr(pool), u8(tranche)]);
}

/** A staker's withdrawal request `[WITHDRAWAL_SEED, pool, tranche, staker]`. */
export function findWithdrawalRequestPda(pool: Address, tranche: number, staker: Address): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.WITHDRAWAL_SEED, addr(pool), u8(tranche), addr(staker)]);
}

/** Market `[MARKET_SEED, pool, index (u32 LE)]`. */
export function findMarketPda(pool: Address, index: number): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.MARKET_SEED, addr(pool), getU32Encoder().encode(index)]);
}

/** A market's cover book `[BOOK_SEED, market]`. */
export function findBookPda(market: Address): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.BOOK_SEED, addr(market)]);
}

/** Policy `[POLICY_SEED, market, id (u64 LE)]`; a market's next id is `Market.policyCount`. */
export function findPolicyPda(market: Address, id: bigint | number): Promise<ProgramDerivedAddress> {
  return derive([IDL_SEEDS.POLICY_SEED, addr(market), getU64Encoder().encode(id)]);
}

/** The pool's fixed addresses: enough to build every staker instruction. */
export type PoolKeys = {
  pool: Address;
  collateralMint: Address;
  /** Token program of the collateral (and share) mints. */
  tokenProgram: Address;
};

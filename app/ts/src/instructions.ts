/**
 * Instruction builders that fill in what a caller should not have to know —
 * PDAs, the pool's fixed accounts, remaining accounts — on top of the
 * generated builders, one per instruction, mirroring `coverage_sdk::ix` (the
 * golden vectors hold them to its bytes). Builders of what users send check
 * their inputs first (`validate.ts`).
 */
import { AccountRole, type AccountMeta, type Address, type Instruction, type TransactionSigner } from '@solana/kit';
import {
  getAcceptAuthorityInstruction,
  getAccruePremiumInstruction,
  getApplyMarketParamsInstruction,
  getApplyPoolParamsInstruction,
  getBuyCoverInstruction,
  getCancelMarketParamsInstruction,
  getCancelPoolParamsInstruction,
  getCancelWithdrawalInstruction,
  getCheckTriggerInstruction,
  getCloseMarketInstruction,
  getClosePolicyInstruction,
  getCollectFeesInstruction,
  getCreateMarketInstruction,
  getDepositInstruction,
  getInitializePoolInstruction,
  getInitializeTrancheInstruction,
  getProposeAuthorityInstruction,
  getQueueMarketParamsInstruction,
  getQueuePoolParamsInstruction,
  getReleaseReserveInstruction,
  getReopenMarketInstruction,
  getRequestWithdrawalInstruction,
  getSetMarketPausedInstruction,
  getSetPoolPausedInstruction,
  getSettlePoliciesInstruction,
  getTransferPolicyInstruction,
  getWithdrawInstruction,
  type CreateMarketInstructionDataArgs,
  type InitializePoolInstructionDataArgs,
  type MarketParamsChangeArgs,
  type PoolParamsChangeArgs,
} from './generated';
import {
  findBookPda,
  findLedgerPda,
  findMarketPda,
  findPolicyPda,
  findPoolPda,
  findShareEscrowPda,
  findShareMintPda,
  findVaultPda,
  findWithdrawalRequestPda,
  type PoolKeys,
} from './pdas';
import { checkCoverAmount, checkCoverTerm, checkPositive, checkTranche, checkUint } from './validate';

const first = async (p: Promise<readonly [Address, number]>) => (await p)[0];

/** The pool's vault, ledger and a tranche's share mint and escrow. */
async function poolAccounts(keys: PoolKeys, tranche?: number) {
  return {
    vault: await first(findVaultPda(keys.pool)),
    ledger: await first(findLedgerPda(keys.pool)),
    shareMint: tranche === undefined ? undefined : await first(findShareMintPda(keys.pool, tranche)),
    shareEscrow: tranche === undefined ? undefined : await first(findShareEscrowPda(keys.pool, tranche)),
  };
}

const withRemaining = (ix: Instruction, remaining: AccountMeta[]): Instruction =>
  Object.freeze({ ...ix, accounts: [...(ix.accounts ?? []), ...remaining] });

// ---------------------------------------------------------------- staker

/** Which tranche, and how many the pool has if known (to refuse an index it lacks). */
type TrancheInput = { tranche: number; trancheCount?: number };

/** `deposit`: `amount` of `stakerCollateral` into `tranche`, at least `minShares` shares to `stakerShares`. */
export async function buildDeposit(
  input: TrancheInput & {
    staker: TransactionSigner;
    keys: PoolKeys;
    stakerCollateral: Address;
    stakerShares: Address;
    amount: bigint;
    minShares: bigint;
  },
): Promise<Instruction> {
  checkTranche(input.tranche, input.trancheCount);
  checkPositive('amount', input.amount);
  checkUint('minShares', input.minShares, 64);
  const p = await poolAccounts(input.keys, input.tranche);
  return getDepositInstruction({
    staker: input.staker,
    pool: input.keys.pool,
    ledger: p.ledger,
    collateralMint: input.keys.collateralMint,
    vault: p.vault,
    stakerCollateral: input.stakerCollateral,
    shareMint: p.shareMint!,
    stakerShares: input.stakerShares,
    tokenProgram: input.keys.tokenProgram,
    tranche: input.tranche,
    amount: input.amount,
    minShares: input.minShares,
  });
}

/** `request_withdrawal` of `shares` of `tranche` (0 renews a lapsed request). */
export async function buildRequestWithdrawal(
  input: TrancheInput & { staker: TransactionSigner; keys: PoolKeys; stakerShares: Address; shares: bigint },
): Promise<Instruction> {
  checkTranche(input.tranche, input.trancheCount);
  checkUint('shares', input.shares, 64);
  const p = await poolAccounts(input.keys, input.tranche);
  return getRequestWithdrawalInstruction({
    staker: input.staker,
    pool: input.keys.pool,
    ledger: p.ledger,
    shareMint: p.shareMint!,
    stakerShares: input.stakerShares,
    shareEscrow: p.shareEscrow!,
    request: await first(findWithdrawalRequestPda(input.keys.pool, input.tranche, input.staker.address)),
    tokenProgram: input.keys.tokenProgram,
    tranche: input.tranche,
    shares: input.shares,
  });
}

/** `cancel_withdrawal` of the request at `request` (default: the staker's own). */
export async function buildCancelWithdrawal(
  input: TrancheInput & { staker: TransactionSigner; keys: PoolKeys; stakerShares: Address; request?: Address },
): Promise<Instruction> {
  checkTranche(input.tranche, input.trancheCount);
  const p = await poolAccounts(input.keys, input.tranche);
  return getCancelWithdrawalInstruction({
    staker: input.staker,
    pool: input.keys.pool,
    request: input.request ?? (await first(findWithdrawalRequestPda(input.keys.pool, input.tranche, input.staker.address))),
    shareMint: p.shareMint!,
    shareEscrow: p.shareEscrow!,
    stakerShares: input.stakerShares,
    tokenProgram: input.keys.tokenProgram,
    tranche: input.tranche,
  });
}

/**
 * The remaining accounts `withdraw` reads: for each of the pool's markets in
 * index order, the market, its cover book and `priceUpdates[i]` (a price
 * update of its feed, normally its push-feed account: `pushFeedAddress`),
 * all read-only. The program refuses the redemption while an open market's
 * price shows its strike breached, and computes required capital from the
 * books. The only place that knows the layout (`coverage_sdk::ix::market_accounts`).
 */
export async function withdrawRemainingAccounts(pool: Address, priceUpdates: readonly Address[]): Promise<AccountMeta[]> {
  const out: AccountMeta[] = [];
  for (let i = 0; i < priceUpdates.length; i++) {
    const market = await first(findMarketPda(pool, i));
    out.push({ address: market, role: AccountRole.READONLY });
    out.push({ address: await first(findBookPda(market)), role: AccountRole.READONLY });
    out.push({ address: priceUpdates[i]!, role: AccountRole.READONLY });
  }
  return out;
}

/** `withdraw` of the request at `request` (default: the staker's own) into `stakerCollateral`. */
export async function buildWithdraw(
  input: TrancheInput & {
    staker: TransactionSigner;
    keys: PoolKeys;
    stakerCollateral: Address;
    /** One price update per market of the pool, in index order (`fetchWithdrawPriceUpdates`). */
    priceUpdates: readonly Address[];
    request?: Address;
  },
): Promise<Instruction> {
  checkTranche(input.tranche, input.trancheCount);
  const p = await poolAccounts(input.keys, input.tranche);
  const ix = getWithdrawInstruction({
    staker: input.staker,
    pool: input.keys.pool,
    ledger: p.ledger,
    request: input.request ?? (await first(findWithdrawalRequestPda(input.keys.pool, input.tranche, input.staker.address))),
    shareMint: p.shareMint!,
    shareEscrow: p.shareEscrow!,
    collateralMint: input.keys.collateralMint,
    vault: p.vault,
    stakerCollateral: input.stakerCollateral,
    tokenProgram: input.keys.tokenProgram,
    tranche: input.tranche,
  });
  return withRemaining(ix, await withdrawRemainingAccounts(input.keys.pool, input.priceUpdates));
}

// ---------------------------------------------------------------- buyer

/**
 * `buy_cover`: `buyer` owns the policy, `payer` (default: the buyer) pays the
 * premium from `payerCollateral` and the rent. `policyId` is the market's
 * `policyCount`; `priceUpdate` a `PriceUpdateV2` of its feed (`pushFeedAddress`).
 * Pass `decimals` to refuse cover below one whole token.
 */
export async function buildBuyCover(input: {
  buyer: TransactionSigner;
  payer?: TransactionSigner;
  keys: PoolKeys;
  market: Address;
  policyId: bigint;
  payerCollateral: Address;
  priceUpdate: Address;
  amount: bigint;
  days: number;
  maxPremium: bigint;
  decimals?: number;
}): Promise<Instruction> {
  checkCoverTerm(input.days);
  checkCoverAmount(input.amount, input.decimals);
  checkUint('maxPremium', input.maxPremium, 64);
  checkUint('policyId', input.policyId, 64);
  const p = await poolAccounts(input.keys);
  return getBuyCoverInstruction({
    buyer: input.buyer,
    payer: input.payer ?? input.buyer,
    pool: input.keys.pool,
    ledger: p.ledger,
    market: input.market,
    book: await first(findBookPda(input.market)),
    policy: await first(findPolicyPda(input.market, input.policyId)),
    collateralMint: input.keys.collateralMint,
    vault: p.vault,
    payerCollateral: input.payerCollateral,
    priceUpdate: input.priceUpdate,
    tokenProgram: input.keys.tokenProgram,
    amount: input.amount,
    days: input.days,
    maxPremium: input.maxPremium,
  });
}

/** `transfer_policy` to `newOwner`. */
export async function buildTransferPolicy(input: {
  owner: TransactionSigner;
  policy: Address;
  newOwner: Address;
}): Promise<Instruction> {
  return getTransferPolicyInstruction(input);
}

/** `close_policy` of a finished policy (anyone may send it; the rent goes to `owner`, the policy's owner). */
export async function buildClosePolicy(input: { owner: Address; policy: Address; market: Address }): Promise<Instruction> {
  return getClosePolicyInstruction(input);
}

// ---------------------------------------------------------------- keeper

/** `check_trigger` with the price update account `priceUpdate`. */
export async function buildCheckTrigger(input: { market: Address; pool: Address; priceUpdate: Address }): Promise<Instruction> {
  return getCheckTriggerInstruction({
    market: input.market,
    pool: input.pool,
    ledger: await first(findLedgerPda(input.pool)),
    book: await first(findBookPda(input.market)),
    priceUpdate: input.priceUpdate,
  });
}

/** `settle_policies` for `[policy, owner's collateral token account]` pairs. */
export async function buildSettlePolicies(input: {
  keys: PoolKeys;
  market: Address;
  pairs: readonly (readonly [Address, Address])[];
}): Promise<Instruction> {
  const ix = getSettlePoliciesInstruction({
    pool: input.keys.pool,
    market: input.market,
    collateralMint: input.keys.collateralMint,
    vault: await first(findVaultPda(input.keys.pool)),
    tokenProgram: input.keys.tokenProgram,
  });
  const pairs = input.pairs.flatMap(([policy, tokenAccount]) => [
    { address: policy, role: AccountRole.WRITABLE },
    { address: tokenAccount, role: AccountRole.WRITABLE },
  ]);
  return withRemaining(ix, pairs);
}

/** `release_reserve`. */
export async function buildReleaseReserve(input: { pool: Address; market: Address }): Promise<Instruction> {
  return getReleaseReserveInstruction(input);
}

/** `accrue_premium`. */
export async function buildAccruePremium(input: { pool: Address }): Promise<Instruction> {
  return getAccruePremiumInstruction({ pool: input.pool, ledger: await first(findLedgerPda(input.pool)) });
}

// ---------------------------------------------------------------- admin

/** `initialize_pool` (the pool is `[POOL_SEED, creator, poolId]`). */
export async function buildInitializePool(input: {
  creator: TransactionSigner;
  collateralMint: Address;
  treasury: Address;
  tokenProgram: Address;
  args: InitializePoolInstructionDataArgs;
}): Promise<Instruction> {
  const pool = await first(findPoolPda(input.creator.address, input.args.poolId));
  return getInitializePoolInstruction({
    creator: input.creator,
    pool,
    collateralMint: input.collateralMint,
    vault: await first(findVaultPda(pool)),
    ledger: await first(findLedgerPda(pool)),
    treasury: input.treasury,
    tokenProgram: input.tokenProgram,
    ...input.args,
  });
}

/** `initialize_tranche`. */
export async function buildInitializeTranche(input: TrancheInput & { payer: TransactionSigner; keys: PoolKeys }): Promise<Instruction> {
  checkTranche(input.tranche, input.trancheCount);
  const p = await poolAccounts(input.keys, input.tranche);
  return getInitializeTrancheInstruction({
    payer: input.payer,
    pool: input.keys.pool,
    collateralMint: input.keys.collateralMint,
    shareMint: p.shareMint!,
    shareEscrow: p.shareEscrow!,
    tokenProgram: input.keys.tokenProgram,
    tranche: input.tranche,
  });
}

/** `create_market` as market number `index` of the pool (its `marketCount`). */
export async function buildCreateMarket(input: {
  authority: TransactionSigner;
  payer: TransactionSigner;
  pool: Address;
  index: number;
  args: CreateMarketInstructionDataArgs;
}): Promise<Instruction> {
  const market = await first(findMarketPda(input.pool, input.index));
  return getCreateMarketInstruction({
    authority: input.authority,
    payer: input.payer,
    pool: input.pool,
    market,
    book: await first(findBookPda(market)),
    ...input.args,
  });
}

/** `collect_fees` to the pool's `treasury`. */
export async function buildCollectFees(input: {
  authority: TransactionSigner;
  keys: PoolKeys;
  treasury: Address;
}): Promise<Instruction> {
  return getCollectFeesInstruction({
    authority: input.authority,
    pool: input.keys.pool,
    collateralMint: input.keys.collateralMint,
    vault: await first(findVaultPda(input.keys.pool)),
    treasury: input.treasury,
    tokenProgram: input.keys.tokenProgram,
  });
}

type Authority = { authority: TransactionSigner; pool: Address };
type MarketAuthority = Authority & { market: Address };

/** `set_pool_paused`. */
export async function buildSetPoolPaused(input: Authority & { paused: boolean }): Promise<Instruction> {
  return getSetPoolPausedInstruction(input);
}

/** `set_market_paused`. */
export async function buildSetMarketPaused(input: MarketAuthority & { paused: boolean }): Promise<Instruction> {
  return getSetMarketPausedInstruction(input);
}

/** `reopen_market`. */
export async function buildReopenMarket(input: MarketAuthority): Promise<Instruction> {
  return getReopenMarketInstruction(input);
}

/** `close_market`. */
export async function buildCloseMarket(input: MarketAuthority): Promise<Instruction> {
  return getCloseMarketInstruction({ ...input, book: await first(findBookPda(input.market)) });
}

/** `propose_authority` (the default address withdraws a proposal). */
export async function buildProposeAuthority(input: Authority & { newAuthority: Address }): Promise<Instruction> {
  return getProposeAuthorityInstruction(input);
}

/** `accept_authority`, signed by the proposed authority. */
export async function buildAcceptAuthority(input: { newAuthority: TransactionSigner; pool: Address }): Promise<Instruction> {
  return getAcceptAuthorityInstruction(input);
}

/** `queue_pool_params`. */
export async function buildQueuePoolParams(input: Authority & { change: PoolParamsChangeArgs }): Promise<Instruction> {
  return getQueuePoolParamsInstruction(input);
}

/** `cancel_pool_params`. */
export async function buildCancelPoolParams(input: Authority): Promise<Instruction> {
  return getCancelPoolParamsInstruction(input);
}

/** `apply_pool_params` (anyone). */
export async function buildApplyPoolParams(input: { pool: Address }): Promise<Instruction> {
  return getApplyPoolParamsInstruction({ pool: input.pool, ledger: await first(findLedgerPda(input.pool)) });
}

/** `queue_market_params`. */
export async function buildQueueMarketParams(input: MarketAuthority & { change: MarketParamsChangeArgs }): Promise<Instruction> {
  return getQueueMarketParamsInstruction(input);
}

/** `cancel_market_params`. */
export async function buildCancelMarketParams(input: MarketAuthority): Promise<Instruction> {
  return getCancelMarketParamsInstruction(input);
}

/** `apply_market_params` (anyone). */
export async function buildApplyMarketParams(input: { pool: Address; market: Address }): Promise<Instruction> {
  return getApplyMarketParamsInstruction(input);
}

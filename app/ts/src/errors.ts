/**
 * The program's named errors: decoding a failed transaction or simulation
 * into `{ code, name, message }` (from the IDL), and saying it in plain words
 * for a person (`explainProgramError`).
 */
import {
  SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED,
  SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
  SOLANA_ERROR__INSTRUCTION_ERROR__INSUFFICIENT_FUNDS,
  SOLANA_ERROR__TRANSACTION_ERROR__ACCOUNT_NOT_FOUND,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_FEE,
  SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_RENT,
  isSolanaError,
  type Address,
} from '@solana/kit';
import { COVERAGE_POOL_PROGRAM_ADDRESS } from './generated';
import { IDL_ERRORS } from './idl.generated';
import { formatAmount } from './format';

/** One of the program's named errors. */
export type ProgramError = {
  /** 6000 + n. */
  code: number;
  /** The error's name in the program (`CapacityExceeded`, …). */
  name: string;
  /** The program's message for it. */
  message: string;
  /** Index of the failing instruction in its transaction, when known. */
  instructionIndex?: number;
};

const BY_CODE = new Map(IDL_ERRORS.map((e) => [e.code, e]));
const BY_NAME = new Map(IDL_ERRORS.map((e) => [e.name, e]));

/** The program's error with `code`, if it has one. */
export function programErrorByCode(code: number): ProgramError | undefined {
  const e = BY_CODE.get(code);
  return e && { ...e };
}

/** The program's error named `name`, if it has one. */
export function programErrorByName(name: string): ProgramError | undefined {
  const e = BY_NAME.get(name);
  return e && { ...e };
}

type Found = { code: number; index?: number };

const asNumber = (x: unknown): number | undefined =>
  typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : undefined;

/** A custom error code in a `TransactionError` as the RPC reports it: `{ InstructionError: [i, { Custom: n }] }`. */
function fromTransactionError(err: unknown): Found | undefined {
  if (typeof err !== 'object' || err === null || !('InstructionError' in err)) return undefined;
  const ie = (err as { InstructionError: unknown }).InstructionError;
  if (!Array.isArray(ie) || ie.length !== 2) return undefined;
  const [index, inner] = ie as [unknown, unknown];
  if (typeof inner !== 'object' || inner === null || !('Custom' in inner)) return undefined;
  const code = asNumber((inner as { Custom: unknown }).Custom);
  return code === undefined ? undefined : { code, index: asNumber(index) };
}

/** A custom error code in a log line or message: `custom program error: 0x17a4`, `Custom(6052)`, `Error Number: 6052`. */
function fromText(text: string): Found | undefined {
  const hexCode = /custom program error: 0x([0-9a-fA-F]+)/.exec(text);
  if (hexCode) return { code: parseInt(hexCode[1]!, 16) };
  const dec = /Custom\((\d+)\)|Error Number: (\d+)/.exec(text);
  if (dec) return { code: Number(dec[1] ?? dec[2]) };
  return undefined;
}

function find(err: unknown, depth = 0): Found | undefined {
  if (err === null || err === undefined || depth > 8) return undefined;
  if (isSolanaError(err, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)) {
    return { code: err.context.code, index: err.context.index };
  }
  if (typeof err === 'string') return fromText(err);
  if (Array.isArray(err)) {
    for (const x of err) {
      const f = find(x, depth + 1);
      if (f) return f;
    }
    return undefined;
  }
  if (typeof err !== 'object') return undefined;
  const o = err as Record<string, unknown>;
  return (
    fromTransactionError(o) ??
    // a simulation result (`value.err`), a preflight failure (`cause`, `context.logs`), a wrapped error
    find(o['value'], depth + 1) ??
    find(o['err'], depth + 1) ??
    find(o['cause'], depth + 1) ??
    find((o['context'] as Record<string, unknown> | undefined)?.['logs'], depth + 1) ??
    find(o['logs'], depth + 1) ??
    (err instanceof Error ? fromText(err.message) : undefined)
  );
}

/**
 * The program's named error in `err`, or `null` if it holds none. Accepts
 * what a client meets: a kit `SolanaError` from sending (a preflight failure
 * whose cause is the instruction's custom error), a simulation result or its
 * `err` (`{ InstructionError: [i, { Custom: n }] }`, numbers or BigInts),
 * transaction logs, or a message containing `custom program error: 0x…`.
 *
 * Pass `instructionPrograms` (the program address of each instruction of the
 * transaction) to make sure the failing instruction is this program's: custom
 * codes of other programs (e.g. the token program's) are then not mistaken for ours.
 */
export function decodeProgramError(
  err: unknown,
  instructionPrograms?: readonly Address[],
  programAddress: Address = COVERAGE_POOL_PROGRAM_ADDRESS,
): ProgramError | null {
  const found = find(err);
  if (!found) return null;
  if (instructionPrograms && found.index !== undefined && instructionPrograms[found.index] !== programAddress) {
    return null;
  }
  const e = BY_CODE.get(found.code);
  if (!e) return null;
  return found.index === undefined ? { ...e } : { ...e, instructionIndex: found.index };
}

/** What a plain-words message can mention, when the caller knows it. */
export type ExplainContext = {
  /** Collateral symbol, e.g. `USDC`. */
  symbol?: string;
  /** Collateral decimals (amounts are in base units). */
  decimals?: number;
  /** Cover still available on the market (`marketCapacity(…).left`). */
  capacityLeft?: bigint;
  /** The premium quoted and the buyer's bound. */
  premium?: bigint;
  maxPremium?: bigint;
  /** When a withdrawal request opens / its window closes (unix seconds). */
  opensAt?: bigint;
  lapsesAt?: bigint;
};

const when = (unix: bigint) => new Date(Number(unix) * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, ' UTC');

/**
 * A sentence for a person about a program error: what happened and, where the
 * context allows, what to do or how much is left. Falls back to the program's
 * own message.
 */
export function explainProgramError(error: Pick<ProgramError, 'name' | 'message'>, ctx: ExplainContext = {}): string {
  const amount = (x: bigint) =>
    `${ctx.decimals === undefined ? x.toString() : formatAmount(x, ctx.decimals)}${ctx.symbol ? ` ${ctx.symbol}` : ''}`;
  switch (error.name) {
    case 'CapacityExceeded':
      return ctx.capacityLeft === undefined
        ? 'Capacity exceeded: this market cannot sell that much cover now. Try a smaller amount.'
        : `Capacity exceeded: at most ${amount(ctx.capacityLeft)} of cover is left on this market.`;
    case 'PremiumAboveMax':
      return ctx.premium !== undefined && ctx.maxPremium !== undefined
        ? `The premium moved to ${amount(ctx.premium)}, above your limit of ${amount(ctx.maxPremium)}. Review the new quote and try again.`
        : 'The premium moved above your limit. Review the new quote and try again.';
    case 'InvalidCoverAmount':
      return `Cover must be at least one whole token${ctx.symbol ? ` (1 ${ctx.symbol})` : ''}.`;
    case 'InvalidCoverTerm':
      return 'Cover is sold for 1 to 365 whole days.';
    case 'ZeroAmount':
      return 'Enter an amount greater than zero.';
    case 'ZeroShares':
      return 'This deposit is too small to buy a single share.';
    case 'SlippageExceeded':
      return 'The share price moved: this deposit would get fewer shares than your minimum. Review and try again.';
    case 'InsufficientShares':
      return 'You do not have that many shares.';
    case 'TrancheWipedOut':
      return 'This tranche lost all its assets to a payout: it takes no new deposits.';
    case 'CooldownNotElapsed':
      return ctx.opensAt === undefined
        ? 'Your withdrawal is still in its cooldown.'
        : `Your withdrawal is still in its cooldown: it opens at ${when(ctx.opensAt)}.`;
    case 'WithdrawalRequestLapsed':
      return `Your withdrawal window has closed${ctx.lapsesAt === undefined ? '' : ` (at ${when(ctx.lapsesAt)})`}: request the withdrawal again.`;
    case 'WithdrawalAlreadyRequested':
      return 'You already have a withdrawal request open on this tranche: cancel it first, or wait until it lapses.';
    case 'RequiredCapitalBreached':
      return 'The pool needs this capital to back the cover it has sold: withdraw less, or wait until cover expires.';
    case 'StreakOpenInPool':
      return 'A market of this pool is watching a possible depeg: withdrawals wait until it resolves.';
    case 'SalesStoppedStreakOpen':
    case 'PriceBelowStrike':
      return 'The price is below the strike on this market: cover sales are stopped until it recovers.';
    case 'MarketAlreadyTriggered':
      return 'This market has triggered: it sells no cover until it is reopened.';
    case 'MarketPaused':
      return 'Cover sales on this market are paused.';
    case 'PoolPaused':
      return 'The pool is paused: deposits and cover sales are stopped (withdrawals are not).';
    case 'MarketClosed':
      return 'This market is closed.';
    case 'StalePrice':
      return 'The price feed is not fresh enough right now. Try again in a moment.';
    case 'NotPolicyOwner':
      return 'Only the policy owner can do this.';
    case 'PolicyNotClosable':
      return 'This policy cannot be closed yet: its cover has not ended, or a late price report may still pay it.';
    case 'MarketNotOpen':
      return 'This market is not open yet: a new market sells cover only after the governance delay.';
    case 'PriceBelowStrikeInPool':
      return 'A market of this pool shows a price below its strike: withdrawals wait until it is reported or recovers.';
    case 'ReservePendingRelease':
      return 'A triggered market is still settling its claims: deposits wait until its reserve is released.';
    default:
      return `${error.message}.`;
  }
}

/**
 * The Anchor framework's errors the program can fail with before its own
 * code runs (an account missing, a constraint failed), codes below 6000;
 * checked against the framework by the golden vectors (`anchor_errors`).
 */
export const ANCHOR_ERRORS: readonly { code: number; name: string; message: string }[] = [
  { code: 100, name: 'InstructionMissing', message: "Instruction discriminator not provided" },
  { code: 101, name: 'InstructionFallbackNotFound', message: "Fallback functions are not supported" },
  { code: 102, name: 'InstructionDidNotDeserialize', message: "The program could not deserialize the given instruction" },
  { code: 103, name: 'InstructionDidNotSerialize', message: "The program could not serialize the given instruction" },
  { code: 2000, name: 'ConstraintMut', message: "A mut constraint was violated" },
  { code: 2001, name: 'ConstraintHasOne', message: "A has one constraint was violated" },
  { code: 2002, name: 'ConstraintSigner', message: "A signer constraint was violated" },
  { code: 2003, name: 'ConstraintRaw', message: "A raw constraint was violated" },
  { code: 2004, name: 'ConstraintOwner', message: "An owner constraint was violated" },
  { code: 2006, name: 'ConstraintSeeds', message: "A seeds constraint was violated" },
  { code: 2012, name: 'ConstraintAddress', message: "An address constraint was violated" },
  { code: 2014, name: 'ConstraintTokenMint', message: "A token mint constraint was violated" },
  { code: 2015, name: 'ConstraintTokenOwner', message: "A token owner constraint was violated" },
  { code: 2021, name: 'ConstraintTokenTokenProgram', message: "A token account token program constraint was violated" },
  { code: 2022, name: 'ConstraintMintTokenProgram', message: "A mint token program constraint was violated" },
  { code: 2040, name: 'ConstraintDuplicateMutableAccount', message: "A duplicate mutable account constraint was violated" },
  { code: 2500, name: 'RequireViolated', message: "A require expression was violated" },
  { code: 2502, name: 'RequireKeysEqViolated', message: "A require_keys_eq expression was violated" },
  { code: 3000, name: 'AccountDiscriminatorAlreadySet', message: "The account discriminator was already set on this account" },
  { code: 3001, name: 'AccountDiscriminatorNotFound', message: "No discriminator was found on the account" },
  { code: 3002, name: 'AccountDiscriminatorMismatch', message: "Account discriminator did not match what was expected" },
  { code: 3003, name: 'AccountDidNotDeserialize', message: "Failed to deserialize the account" },
  { code: 3004, name: 'AccountDidNotSerialize', message: "Failed to serialize the account" },
  { code: 3005, name: 'AccountNotEnoughKeys', message: "Not enough account keys given to the instruction" },
  { code: 3006, name: 'AccountNotMutable', message: "The given account is not mutable" },
  { code: 3007, name: 'AccountOwnedByWrongProgram', message: "The given account is owned by a different program than expected" },
  { code: 3008, name: 'InvalidProgramId', message: "Program ID was not as expected" },
  { code: 3009, name: 'InvalidProgramExecutable', message: "Program account is not executable" },
  { code: 3010, name: 'AccountNotSigner', message: "The given account did not sign" },
  { code: 3011, name: 'AccountNotSystemOwned', message: "The given account is not owned by the system program" },
  { code: 3012, name: 'AccountNotInitialized', message: "The program expected this account to be already initialized" },
  { code: 3013, name: 'AccountNotProgramData', message: "The given account is not a program data account" },
  { code: 3014, name: 'AccountNotAssociatedTokenAccount', message: "The given account is not the associated token account" },
  { code: 3015, name: 'AccountSysvarMismatch', message: "The given public key does not match the required sysvar" },
  { code: 4100, name: 'DeclaredProgramIdMismatch', message: "The declared program id does not match the actual program id" },
  { code: 4101, name: 'TryingToInitPayerAsProgramAccount', message: "You cannot/should not initialize the payer account as a program account" }
];
const ANCHOR_BY_CODE = new Map(ANCHOR_ERRORS.map((e) => [e.code, e]));

const TOKEN_PROGRAMS = new Set(['TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb']);
const SYSTEM_PROGRAM = '11111111111111111111111111111111';

/** A failure that is not one of the program's named errors, named for a person. */
export type NamedFailure = { name: string; words: string };

/** kit's error codes along `err` and its causes (`context.__code`), outermost first. */
function solanaCodes(err: unknown): number[] {
  const codes: number[] = [];
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (isSolanaError(e)) codes.push(e.context.__code);
  }
  return codes;
}

/** The transaction's logs, when the failure carries them (a preflight failure does). */
function logsOf(err: unknown): string[] {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const logs = (e as { context?: { logs?: unknown } }).context?.logs;
    if (Array.isArray(logs)) return logs.filter((l): l is string => typeof l === 'string');
  }
  return [];
}

/**
 * The innermost failing program and its custom code, from the logs: the first
 * `Program X failed: custom program error: 0x…` line is the deepest call (the
 * callers' failures are logged after it with the same code).
 */
function innermostFailure(logs: readonly string[]): { program: string; code: number } | undefined {
  for (const line of logs) {
    const m = /^Program (\w+) failed: custom program error: 0x([0-9a-fA-F]+)/.exec(line);
    if (m) return { program: m[1]!, code: parseInt(m[2]!, 16) };
  }
  return undefined;
}

/**
 * Names what went wrong when it is not one of the program's named errors
 * ({@link decodeProgramError} first): the framework's account checks
 * (`AccountNotInitialized`: the payer's token account does not exist, …),
 * too few tokens (`InsufficientTokens`, the token program's error inside the
 * instruction), no SOL for the fee (`InsufficientSolForFee`) or for the rent
 * of new accounts (`InsufficientSolForRent`), an expired blockhash
 * (`TransactionExpired`). `null` when it is none of these: the caller shows
 * kit's own message then.
 */
export function explainTransactionFailure(err: unknown, ctx: ExplainContext = {}): NamedFailure | null {
  const token = ctx.symbol ?? 'tokens';
  if (err instanceof Error && err.name === 'TransactionExpiredError') return expired();
  const codes = solanaCodes(err);
  if (codes.includes(SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED) || codes.includes(SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)) {
    return expired();
  }
  // the fee payer has no account at all (never held SOL) or too few lamports for the fee
  if (codes.includes(SOLANA_ERROR__TRANSACTION_ERROR__ACCOUNT_NOT_FOUND) || codes.includes(SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_FEE)) {
    return { name: 'InsufficientSolForFee', words: 'Your wallet has no SOL to pay the network fee: add SOL and try again.' };
  }
  const rent = { name: 'InsufficientSolForRent', words: 'Your wallet has too little SOL for the rent of the accounts this transaction opens: add SOL and try again.' };
  if (codes.includes(SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_RENT) || codes.includes(SOLANA_ERROR__INSTRUCTION_ERROR__INSUFFICIENT_FUNDS)) {
    return rent;
  }
  const inner = innermostFailure(logsOf(err));
  if (inner && TOKEN_PROGRAMS.has(inner.program) && inner.code === 1) {
    return { name: 'InsufficientTokens', words: `You do not have enough ${token} in your wallet for this.` };
  }
  // the system program's ResultWithNegativeLamports: an account's rent is more than the payer holds
  if (inner && inner.program === SYSTEM_PROGRAM && inner.code === 1) return rent;
  const found = find(err);
  const anchor = found && (!inner || inner.program === COVERAGE_POOL_PROGRAM_ADDRESS) ? ANCHOR_BY_CODE.get(found.code) : undefined;
  if (anchor?.name === 'AccountNotInitialized') {
    return {
      name: anchor.name,
      words: `An account this transaction needs does not exist — most often your ${token} token account, when the wallet has never held ${token}: get ${token} first.`,
    };
  }
  if (anchor) return { name: anchor.name, words: `${anchor.message}.` };
  return null;
}

function expired(): NamedFailure {
  return {
    name: 'TransactionExpired',
    words: 'The transaction expired before it was confirmed (its blockhash is too old): it can no longer land, so nothing was done. Try again.',
  };
}

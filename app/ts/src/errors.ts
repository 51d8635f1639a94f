/**
 * The program's named errors: decoding a failed transaction or simulation
 * into `{ code, name, message }` (from the IDL), and saying it in plain words
 * for a person (`explainProgramError`).
 */
import {
  SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM,
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

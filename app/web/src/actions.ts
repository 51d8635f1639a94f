/**
 * Running a transaction from a form: the status line says what is happening
 * (waiting for the wallet, confirming) and ends with the signature or with
 * what went wrong in plain words — the program's named error through the
 * client's `explainProgramError`, never a raw code.
 */
import type { Instruction, Signature, TransactionSigner } from '@solana/kit';
import {
  decodeProgramError,
  explainProgramError,
  explainTransactionFailure,
  InputError,
  RuleError,
  type ExplainContext,
  type SendRpc,
} from '@coverage-pool/client';
import { fill, h, short } from './ui';

/** What went wrong, for a person: `{ name, words }` (`name` is the program's error name when it is one). */
export function describeError(e: unknown, context: ExplainContext = {}): { name?: string; words: string } {
  const program = decodeProgramError(e);
  if (program) return { name: program.name, words: explainProgramError(program, context) };
  if (e instanceof RuleError) return { name: e.errorName, words: explainProgramError({ name: e.errorName, message: e.message }, context) };
  if (e instanceof InputError) return { name: e.rule, words: capitalise(e.message) + '.' };
  // the client's own named refusals (wrong chain, an account of the wrong owner, …)
  if (e instanceof Error && typeof (e as { errorName?: unknown }).errorName === 'string') {
    return { name: (e as Error & { errorName: string }).errorName, words: capitalise(e.message) + '.' };
  }
  // not the program's error: kit's codes (no SOL, expired blockhash, …) named in words, never shown raw
  const failure = explainTransactionFailure(e, context);
  if (failure) return failure;
  const message = e instanceof Error ? e.message : String(e);
  if (/reject|declin|denied|cancel/i.test(message)) return { words: 'You declined the request in your wallet: nothing was sent.' };
  if (e instanceof Error && e.constructor === Error) return { words: message }; // the page's own sentences
  return { words: `The transaction did not go through: ${message}` };
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export type Sender = {
  rpc: SendRpc;
  send(signer: TransactionSigner, instructions: Instruction[]): Promise<Signature>;
};

/**
 * Builds (`build`), signs through the wallet and sends one transaction,
 * reporting into `status`. On failure, `context` (read after the failure)
 * gives the plain-words message its numbers (capacity left, …). Returns the
 * signature, or null if it failed.
 */
export async function runTransaction(
  status: HTMLElement,
  sender: Sender,
  signer: () => TransactionSigner,
  label: string,
  build: () => Promise<Instruction[]>,
  context: () => Promise<ExplainContext> = async () => ({}),
): Promise<Signature | null> {
  const say = (kind: 'busy' | 'ok' | 'error', ...children: (Node | string)[]) => {
    status.className = `status ${kind}`;
    status.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    fill(status, ...children);
  };
  try {
    const s = signer();
    say('busy', `${label}: preparing…`);
    const instructions = await build();
    say('busy', `${label}: approve it in your wallet, then it is sent and confirmed…`);
    const signature = await sender.send(s, instructions);
    say('ok', `${label}: confirmed. `, h('span', { class: 'mono', title: signature }, short(signature)));
    return signature;
  } catch (e) {
    let ctx: ExplainContext = {};
    try {
      ctx = await context();
    } catch {
      // the message goes out without numbers
    }
    const { name, words } = describeError(e, ctx);
    say('error', h('strong', {}, `${label} failed. `), words, name ? h('span', { class: 'error-name' }, name) : '');
    console.warn(label, e);
    return null;
  }
}

/**
 * Sending instructions as one transaction and waiting until it is confirmed,
 * the two ways a client can: kit's websocket confirmation
 * (`sendAndConfirmTransactionFactory`: `signatureSubscribe` + `slotSubscribe`)
 * when given RPC subscriptions, else polling `getSignatureStatuses` until the
 * blockhash expires. The fee payer may be any kit signer, including a
 * wallet's (a `TransactionModifyingSigner` or `TransactionPartialSigner`).
 *
 * A refusal throws what kit throws (a preflight failure), or a
 * {@link TransactionFailedError} for a transaction that landed and failed:
 * `decodeProgramError` reads the program's named error from either.
 */
import {
  appendTransactionMessageInstructions,
  assertIsTransactionWithBlockhashLifetime,
  createTransactionMessage,
  getSignatureFromTransaction,
  pipe,
  sendAndConfirmTransactionFactory,
  sendTransactionWithoutConfirmingFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Commitment,
  type GetBlockHeightApi,
  type GetEpochInfoApi,
  type GetLatestBlockhashApi,
  type GetSignatureStatusesApi,
  type Instruction,
  type Rpc,
  type RpcSubscriptions,
  type SendTransactionApi,
  type Signature,
  type SignatureNotificationsApi,
  type SlotNotificationsApi,
  type TransactionSigner,
} from '@solana/kit';

/** The RPC methods {@link sendInstructions} uses. */
export type SendRpc = Rpc<GetLatestBlockhashApi & GetEpochInfoApi & GetSignatureStatusesApi & GetBlockHeightApi & SendTransactionApi>;

/** A transaction that was processed and failed; `err` is the RPC's `TransactionError`. */
export class TransactionFailedError extends Error {
  constructor(
    readonly signature: Signature,
    readonly err: unknown,
  ) {
    super(`transaction ${signature} failed: ${JSON.stringify(err, (_, v) => (typeof v === 'bigint' ? Number(v) : v))}`);
    this.name = 'TransactionFailedError';
  }
}

/** A transaction whose blockhash expired before it was seen confirmed. */
export class TransactionExpiredError extends Error {
  constructor(readonly signature: Signature) {
    super(`transaction ${signature} was not confirmed before its blockhash expired`);
    this.name = 'TransactionExpiredError';
  }
}

const reached = (status: string | null | undefined, commitment: Commitment) =>
  status === 'finalized' || (status === 'confirmed' && commitment !== 'finalized') || (status === 'processed' && commitment === 'processed');

/**
 * Builds a v0 transaction of `instructions` paid by `feePayer`, signs it with
 * every signer its instructions carry, sends it (with preflight) and waits for
 * `commitment` (default `confirmed`): over the websocket when
 * `rpcSubscriptions` is given, else by polling every `pollMs`. Returns its signature.
 */
export async function sendInstructions(
  rpc: SendRpc,
  feePayer: TransactionSigner,
  instructions: readonly Instruction[],
  options: {
    rpcSubscriptions?: RpcSubscriptions<SignatureNotificationsApi & SlotNotificationsApi>;
    commitment?: Commitment;
    pollMs?: number;
    abortSignal?: AbortSignal;
  } = {},
): Promise<Signature> {
  const commitment = options.commitment ?? 'confirmed';
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(feePayer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const transaction = await signTransactionMessageWithSigners(message);
  assertIsTransactionWithBlockhashLifetime(transaction);
  const signature = getSignatureFromTransaction(transaction);
  if (options.rpcSubscriptions) {
    await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions: options.rpcSubscriptions })(transaction, {
      commitment,
      abortSignal: options.abortSignal,
    });
    return signature;
  }
  await sendTransactionWithoutConfirmingFactory({ rpc })(transaction, { commitment, abortSignal: options.abortSignal });
  for (;;) {
    options.abortSignal?.throwIfAborted();
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const status = value[0];
    if (status?.err) throw new TransactionFailedError(signature, status.err);
    if (reached(status?.confirmationStatus, commitment)) return signature;
    if ((await rpc.getBlockHeight({ commitment }).send()) > blockhash.lastValidBlockHeight) {
      throw new TransactionExpiredError(signature);
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 400));
  }
}

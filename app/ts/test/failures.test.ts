// Failures that are not the program's named errors, as kit reports them from
// `cover localnet` (a preflight failure) and from confirmation: each is named
// for a person by explainTransactionFailure, never left as a raw kit code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED,
  SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_RENT,
  SolanaError,
  type Address,
  type Signature,
} from '@solana/kit';
import { findAssociatedTokenPda } from '@solana-program/token';
import {
  ANCHOR_ERRORS,
  buildBuyCover,
  decodeProgramError,
  explainTransactionFailure,
  fetchQuoteAccounts,
  fetchUnixTimestamp,
  pushFeedAddress,
  quotePremium,
  sendInstructions,
  TransactionExpiredError,
  type PoolKeys,
} from '../src';
import { golden } from './golden';
import { fund, newKeypairBytes, startLocalnet, stakeWithCli } from './localnet';

const USDC = 1_000_000n;

test('the Anchor framework errors the client names are the framework\'s', () => {
  assert.deepEqual(ANCHOR_ERRORS, golden.anchor_errors);
});

test('an expired blockhash and rent refusals are named', () => {
  const expired = explainTransactionFailure(new SolanaError(SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED, { currentBlockHeight: 10n, lastValidBlockHeight: 9n }));
  assert.equal(expired?.name, 'TransactionExpired');
  assert.equal(explainTransactionFailure(new TransactionExpiredError('1111' as Signature))?.name, 'TransactionExpired');
  const rent = new SolanaError(SOLANA_ERROR__TRANSACTION_ERROR__INSUFFICIENT_FUNDS_FOR_RENT, { accountIndex: 0 });
  assert.equal(explainTransactionFailure(rent)?.name, 'InsufficientSolForRent');
  assert.equal(explainTransactionFailure(new Error('something else')), null);
});

test('buying without a token account, without enough tokens, without SOL: each named', { timeout: 180_000 }, async (t) => {
  const net = await startLocalnet();
  t.after(() => net.stop());
  const rpc = createSolanaRpc(net.info.rpc);
  await stakeWithCli(net, 100_000, [0]);
  const pool = net.info.pool as Address;
  const market = net.info.markets[0]!.address as Address;
  const acc = await fetchQuoteAccounts(rpc, pool, market);
  const keys: PoolKeys = { pool, collateralMint: acc.pool.collateralMint, tokenProgram: acc.pool.tokenProgram };
  const attempt = async (lamports: bigint, collateral: bigint) => {
    const buyer = await createKeyPairSignerFromBytes(newKeypairBytes());
    await fund(net, buyer.address, lamports, collateral);
    const [ata] = await findAssociatedTokenPda({ owner: buyer.address, mint: keys.collateralMint, tokenProgram: keys.tokenProgram });
    const premium = quotePremium(acc, 1000n * USDC, 30, await fetchUnixTimestamp(rpc));
    const ix = await buildBuyCover({
      buyer, keys, market, policyId: acc.market.policyCount, payerCollateral: ata, priceUpdate: await pushFeedAddress(acc.market.feedId),
      amount: 1000n * USDC, days: 30, maxPremium: premium * 2n, decimals: 6,
    });
    const err = await sendInstructions(rpc, buyer, [ix]).then(() => assert.fail('the purchase went through'), (e: unknown) => e);
    assert.equal(decodeProgramError(err), null, 'not one of the program\'s own errors');
    return explainTransactionFailure(err, { symbol: 'USDC' });
  };
  // never held USDC: the framework's AccountNotInitialized (3012) on the payer's token account
  const none = await attempt(1_000_000_000n, 0n);
  assert.equal(none?.name, 'AccountNotInitialized');
  assert.match(none!.words, /USDC token account/);
  // the token program's InsufficientFunds (custom 1) inside buy_cover, not a program error 1
  const few = await attempt(1_000_000_000n, 1n);
  assert.deepEqual(few, { name: 'InsufficientTokens', words: 'You do not have enough USDC in your wallet for this.' });
  // no SOL: the fee payer's account does not exist
  const broke = await attempt(0n, 100n * USDC);
  assert.equal(broke?.name, 'InsufficientSolForFee');
  for (const f of [none, few, broke]) assert.doesNotMatch(f!.words, /0x|-32002|\d{4,}/, 'no raw code');
});

// Buy cover with the TypeScript client alone, then list the buyer's policies.
// Runs against `cover localnet` (coming: see the README); until then it is
// typechecked by `npm run typecheck`, not run.
//
//   RPC_URL=http://127.0.0.1:8899 KEYPAIR=~/.config/solana/id.json \
//   POOL=<pool address> MARKET=<market address> npx tsx examples/buy-cover.ts
import { readFileSync } from 'node:fs';
import {
  address,
  appendTransactionMessageInstruction,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createTransactionMessage,
  getSignatureFromTransaction,
  pipe,
  sendTransactionWithoutConfirmingFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
} from '@solana/kit';
import { findAssociatedTokenPda } from '@solana-program/token';
import {
  buildBuyCover,
  decodeProgramError,
  explainProgramError,
  fetchPolicies,
  fetchQuoteAccounts,
  formatAmount,
  marketCapacity,
  policyPhase,
  pushFeedAddress,
  quotePremium,
} from '../src';

export async function buyCoverAndListPolicies(config: {
  rpcUrl: string;
  keypairBytes: Uint8Array;
  pool: Address;
  market: Address;
  /** Cover in whole tokens, and days. */
  tokens: bigint;
  days: number;
  /** Price update account of the market's feed (default: Pyth's sponsored push feed). */
  priceUpdate?: Address;
}): Promise<void> {
  const rpc = createSolanaRpc(config.rpcUrl);
  const buyer = await createKeyPairSignerFromBytes(config.keypairBytes);

  // 1. quote: the premium the program will charge, from the accounts as they are now
  const accounts = await fetchQuoteAccounts(rpc, config.pool, config.market);
  const { pool, market } = accounts;
  const decimals = pool.collateralDecimals;
  const amount = config.tokens * 10n ** BigInt(decimals);
  const now = BigInt(Math.floor(Date.now() / 1000));
  const premium = quotePremium(accounts, amount, config.days, now);
  const maxPremium = premium + premium / 100n; // 1 % slippage: premium earned meanwhile moves the price
  console.log(`premium ${formatAmount(premium, decimals)} for ${formatAmount(amount, decimals)} over ${config.days} days`);

  // 2. build the purchase: the policy is the market's next one; the buyer pays from their token account
  const [payerCollateral] = await findAssociatedTokenPda({
    owner: buyer.address,
    mint: pool.collateralMint,
    tokenProgram: pool.tokenProgram,
  });
  const buy = await buildBuyCover({
    buyer,
    keys: { pool: config.pool, collateralMint: pool.collateralMint, tokenProgram: pool.tokenProgram },
    market: config.market,
    policyId: market.policyCount,
    payerCollateral,
    priceUpdate: config.priceUpdate ?? (await pushFeedAddress(market.feedId)),
    amount,
    days: config.days,
    maxPremium,
    decimals,
  });

  // 3. send it; a refusal is the program's named error, in plain words
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(buyer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstruction(buy, m),
  );
  const transaction = await signTransactionMessageWithSigners(message);
  try {
    await sendTransactionWithoutConfirmingFactory({ rpc })(transaction, { commitment: 'confirmed' });
  } catch (e) {
    const error = decodeProgramError(e);
    if (!error) throw e;
    const { left } = marketCapacity(accounts, now);
    throw new Error(explainProgramError(error, { capacityLeft: left, decimals, symbol: 'USDC', premium, maxPremium }));
  }
  const signature = getSignatureFromTransaction(transaction);
  for (let i = 0; i < 30; i++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    if (value[0]?.confirmationStatus === 'confirmed' || value[0]?.confirmationStatus === 'finalized') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  console.log(`bought: ${signature}`);

  // 4. read the buyer's policies (getProgramAccounts with memcmp filters on the owner)
  for (const { address: at, data: policy } of await fetchPolicies(rpc, { owner: buyer.address })) {
    const phase = policyPhase(policy, now, policy.market === config.market ? market : undefined);
    console.log(`${at}: ${formatAmount(policy.amount, decimals)} ${phase}`);
  }
}

if (process.argv[1]?.endsWith('buy-cover.ts')) {
  const env = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`set ${name}`);
    return v;
  };
  await buyCoverAndListPolicies({
    rpcUrl: env('RPC_URL'),
    keypairBytes: Uint8Array.from(JSON.parse(readFileSync(env('KEYPAIR').replace(/^~/, process.env['HOME'] ?? ''), 'utf8'))),
    pool: address(env('POOL')),
    market: address(env('MARKET')),
    tokens: BigInt(process.env['TOKENS'] ?? '1000'),
    days: Number(process.env['DAYS'] ?? '30'),
    priceUpdate: process.env['PRICE_UPDATE'] ? address(process.env['PRICE_UPDATE']) : undefined,
  });
}

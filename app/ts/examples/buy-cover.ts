// Buy cover with the TypeScript client, then list the buyer's policies.
//   RPC_URL=http://127.0.0.1:8899 KEYPAIR=~/.config/solana/id.json POOL=… MARKET=… \
//   npx tsx examples/buy-cover.ts          (in app/ts; TOKENS=1000 DAYS=30 by default)
import { readFileSync } from 'node:fs';
import { address, createKeyPairSignerFromBytes, createSolanaRpc } from '@solana/kit';
import { findAssociatedTokenPda } from '@solana-program/token';
import {
  buildBuyCover, decodeProgramError, explainProgramError, fetchPolicies, fetchQuoteAccounts,
  fetchUnixTimestamp, formatAmount, marketCapacity, policyPhase, pushFeedAddress, quotePremium,
  RuleError, sendInstructions,
} from '@coverage-pool/client';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};
const rpc = createSolanaRpc(env('RPC_URL'));
const keyFile = env('KEYPAIR').replace(/^~/, process.env['HOME'] ?? '');
const buyer = await createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(readFileSync(keyFile, 'utf8'))));
const [poolAddress, marketAddress] = [address(env('POOL')), address(env('MARKET'))];

// 1. quote: the premium the program will charge, from the accounts and the cluster's clock
const accounts = await fetchQuoteAccounts(rpc, poolAddress, marketAddress);
const { pool, market } = accounts;
const decimals = pool.collateralDecimals;
const amount = BigInt(env('TOKENS', '1000')) * 10n ** BigInt(decimals);
const days = Number(env('DAYS', '30'));
const now = await fetchUnixTimestamp(rpc);
const context = { capacityLeft: marketCapacity(accounts, now).left, decimals, symbol: 'USDC' };
function refuse(error: { name: string; message: string }): never {
  console.error(`${error.name}: ${explainProgramError(error, context)}`); // the program's error, in plain words
  process.exit(1);
}
let premium: bigint;
try {
  premium = quotePremium(accounts, amount, days, now); // refuses what the program would, by the same name
} catch (e) {
  if (e instanceof RuleError) refuse({ name: e.errorName, message: e.message });
  throw e;
}
const maxPremium = premium + premium / 100n; // 1 % slippage: premium earned meanwhile moves the price
console.log(`premium ${formatAmount(premium, decimals)} for ${formatAmount(amount, decimals)} over ${days} days`);

// 2. build the purchase: the policy is the market's next one; the buyer pays from their token account
const keys = { pool: poolAddress, collateralMint: pool.collateralMint, tokenProgram: pool.tokenProgram };
const [payerCollateral] = await findAssociatedTokenPda({ owner: buyer.address, mint: keys.collateralMint, tokenProgram: keys.tokenProgram });
const buy = await buildBuyCover({
  buyer, keys, market: marketAddress, policyId: market.policyCount, payerCollateral,
  priceUpdate: await pushFeedAddress(market.feedId), amount, days, maxPremium, decimals,
});

// 3. send it and wait for confirmation; a refusal is the program's named error
try {
  console.log(`bought: ${await sendInstructions(rpc, buyer, [buy])}`);
} catch (e) {
  const error = decodeProgramError(e);
  if (!error) throw e;
  refuse(error);
}

// 4. the buyer's policies: getProgramAccounts with a memcmp filter on the owner
const later = await fetchUnixTimestamp(rpc);
for (const { address: at, data: policy } of await fetchPolicies(rpc, { owner: buyer.address })) {
  const phase = policyPhase(policy, later, policy.market === marketAddress ? market : undefined);
  console.log(`${at}: ${formatAmount(policy.amount, decimals)} USDC, ${phase}`);
}

// Refused transactions from the bank: the transaction error as the RPC
// reports it, in every shape a client meets, decodes to the program's named error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { address, getSolanaErrorFromTransactionError } from '@solana/kit';
import { COVERAGE_POOL_PROGRAM_ADDRESS } from '../src/generated';
import { decodeProgramError, explainProgramError, programErrorByName } from '../src/errors';
import { golden, type Json } from './golden';

/** kit parses RPC numbers as BigInts: the same error as kit's RPC layer returns it. */
const withBigInts = (x: Json): Json =>
  typeof x === 'number' ? BigInt(x) : Array.isArray(x) ? x.map(withBigInts) : typeof x === 'object' && x ? Object.fromEntries(Object.entries(x).map(([k, v]) => [k, withBigInts(v)])) : x;

test('refusals from the bank decode to their named errors, in every shape', () => {
  assert.ok(golden.refusals.length >= 5);
  for (const r of golden.refusals) {
    // the bank's transactions put a compute-unit limit first, as the RPC transport does
    const want = { code: r.code, name: r.name, message: r.message, instructionIndex: r.transaction_error.InstructionError[0] };
    const raw = r.transaction_error;
    const hex = `custom program error: 0x${r.code.toString(16)}`;
    const shapes: [string, unknown][] = [
      ['the RPC JSON', raw],
      ['a simulation result', { value: { err: withBigInts(raw), logs: [] } }],
      ['kit\'s SolanaError', getSolanaErrorFromTransactionError(withBigInts(raw))],
      ['a preflight failure wrapping it', Object.assign(new Error('preflight'), { cause: getSolanaErrorFromTransactionError(raw) })],
    ];
    for (const [shape, err] of shapes) {
      assert.deepEqual(decodeProgramError(err), want, `${r.label}: ${shape}`);
    }
    const { instructionIndex: _, ...fromLogs } = want;
    assert.deepEqual(decodeProgramError({ logs: [`Program ${COVERAGE_POOL_PROGRAM_ADDRESS} failed: ${hex}`] }), fromLogs);
    assert.deepEqual(decodeProgramError(new Error(`Transaction simulation failed: ${hex}`)), fromLogs);
  }
});

test('a custom code of another program is not taken for ours when the instructions are known', () => {
  const raw = golden.refusals[0].transaction_error;
  const token = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
  const budget = address('ComputeBudget111111111111111111111111111111');
  assert.equal(decodeProgramError(raw, [budget, token]), null);
  assert.equal(decodeProgramError(raw, [budget, COVERAGE_POOL_PROGRAM_ADDRESS])?.name, golden.refusals[0].name);
  assert.equal(decodeProgramError({ InstructionError: [0, { Custom: 1 }] }), null);
  assert.equal(decodeProgramError(new Error('blockhash not found')), null);
});

test('plain words: capacity left in tokens, the cooldown\'s end, the program\'s message otherwise', () => {
  const capacity = programErrorByName('CapacityExceeded')!;
  assert.equal(
    explainProgramError(capacity, { capacityLeft: 12_345_000_000n, decimals: 6, symbol: 'USDC' }),
    'Capacity exceeded: at most 12 345 USDC of cover is left on this market.',
  );
  assert.equal(
    explainProgramError(capacity, { capacityLeft: 1_500_000n, decimals: 6, symbol: 'USDC' }),
    'Capacity exceeded: at most 1.5 USDC of cover is left on this market.',
  );
  assert.match(explainProgramError(programErrorByName('CooldownNotElapsed')!, { opensAt: 1_678_233_600n }), /opens at 2023-03-08 00:00:00 UTC/);
  const other = programErrorByName('WrongMarketBooks')!;
  assert.equal(explainProgramError(other), `${other.message}.`);
});

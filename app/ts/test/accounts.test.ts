// Every account type of the IDL: bytes from a bank story, decoded by the
// generated decoders behind the checked ones, equal the fields Rust decodes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { address, getAddressEncoder, getBase58Decoder } from '@solana/kit';
import {
  ACCOUNT_TYPES,
  AccountDataError,
  POLICY_MARKET_OFFSET,
  POLICY_OWNER_OFFSET,
  accountSize,
  accountTypeOf,
  decodeAccountData,
  decodePolicyData,
  policyFilters,
  type AccountType,
} from '../src/accounts';
import { COVERAGE_POOL_PROGRAM_ADDRESS, MarketStatus, PolicyStatus } from '../src/generated';
import { AccountOwnerError, fetchDecoded, fetchOwnedAccounts } from '../src/rpc';
import { canon, fromHex, golden, idl, type Json } from './golden';

const ENUMS: Partial<Record<AccountType, Record<string, Record<number, string>>>> = {
  Market: { status: MarketStatus },
  Policy: { status: PolicyStatus },
};

test('the vectors cover every account type of the IDL, and the client knows them all', () => {
  const types = new Set(golden.accounts.map((a: Json) => a.type));
  const idlTypes = idl.accounts.map((a: Json) => a.name).sort();
  assert.deepEqual([...types].sort(), idlTypes);
  assert.deepEqual([...ACCOUNT_TYPES].sort(), idlTypes);
});

test('accounts from the bank decode to the fields Rust reads, every field', () => {
  for (const a of golden.accounts) {
    const data = fromHex(a.data);
    assert.equal(accountTypeOf(data), a.type, a.label);
    assert.equal(data.length, accountSize(a.type), `${a.type} size`);
    const decoded = decodeAccountData(a.type, data);
    assert.deepEqual(canon(decoded, ENUMS[a.type as AccountType]), a.fields, `${a.type}: ${a.label}`);
  }
});

test('decoders refuse another account type, a foreign discriminator and a wrong size, saying which', () => {
  const policy = fromHex(golden.accounts.find((a: Json) => a.type === 'Policy').data);
  const pool = fromHex(golden.accounts.find((a: Json) => a.type === 'Pool').data);
  assert.throws(() => decodePolicyData(pool), (e: Error) => {
    assert.ok(e instanceof AccountDataError);
    assert.match(e.message, /^not a Policy account: .* \(the data is a Pool account\)$/);
    return true;
  });
  const foreign = policy.slice();
  foreign[0] = foreign[0]! ^ 0xff;
  assert.throws(() => decodePolicyData(foreign), /not a Policy account: .*no account type of this program/);
  assert.throws(() => decodePolicyData(new Uint8Array()), /not a Policy account: its discriminator is \(empty data\)/);
  assert.throws(
    () => decodePolicyData(policy.slice(0, policy.length - 1)),
    new RegExp(`a Policy account is ${policy.length} bytes, this data is ${policy.length - 1} bytes`),
  );
  const longer = new Uint8Array(policy.length + 8);
  longer.set(policy);
  assert.throws(() => decodePolicyData(longer), AccountDataError);
});

test('policy filters select by size, discriminator, owner and market at the offsets of real policies', () => {
  for (const a of golden.accounts.filter((a: Json) => a.type === 'Policy')) {
    const data = fromHex(a.data);
    const at = (offset: number) => data.slice(offset, offset + 32);
    assert.deepEqual(at(POLICY_OWNER_OFFSET), getAddressEncoder().encode(a.fields.owner));
    assert.deepEqual(at(POLICY_MARKET_OFFSET), getAddressEncoder().encode(a.fields.market));
  }
  const owner = golden.accounts.find((a: Json) => a.type === 'Policy').fields.owner;
  const filters = policyFilters({ owner });
  const discriminator = idl.accounts.find((a: Json) => a.name === 'Policy').discriminator;
  assert.deepEqual(filters, [
    { dataSize: BigInt(accountSize('Policy')) },
    { memcmp: { offset: 0n, bytes: getBase58Decoder().decode(Uint8Array.from(discriminator)), encoding: 'base58' } },
    { memcmp: { offset: BigInt(POLICY_OWNER_OFFSET), bytes: owner, encoding: 'base58' } },
  ]);
});

// An RPC that answers getMultipleAccounts with the given accounts (base64, as the wire carries them).
const fakeRpc = (accounts: ({ owner: string; data: Uint8Array } | null)[]) =>
  ({
    getMultipleAccounts: () => ({
      send: async () => ({
        value: accounts.map((a) => a && { owner: a.owner, data: [Buffer.from(a.data).toString('base64'), 'base64'], lamports: 1n, executable: false, space: BigInt(a.data.length) }),
      }),
    }),
  }) as never;

test('accounts are read only from their owner: a copy under another program is refused by name, not decoded', async () => {
  const pool = golden.accounts.find((a: Json) => a.type === 'Pool');
  const data = fromHex(pool.data);
  const at = address(pool.address);
  const stranger = address('BPFLoaderUpgradeab1e11111111111111111111111');
  const [ok] = await fetchDecoded(fakeRpc([{ owner: COVERAGE_POOL_PROGRAM_ADDRESS, data }]), [['Pool', at]] as const);
  assert.deepEqual(canon(ok), pool.fields);
  await assert.rejects(fetchDecoded(fakeRpc([{ owner: stranger, data }]), [['Pool', at]] as const), (e: unknown) => {
    assert.ok(e instanceof AccountOwnerError);
    assert.deepEqual([e.errorName, e.owner, e.expected], ['AccountOwnedByWrongProgram', stranger, COVERAGE_POOL_PROGRAM_ADDRESS]);
    return true;
  });
  await assert.rejects(fetchDecoded(fakeRpc([null]), [['Pool', at]] as const), { name: 'AccountMissingError', errorName: 'AccountNotInitialized' });
  // raw reads: a token account must be the token program's; a missing one is null
  const token = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
  assert.deepEqual(await fetchOwnedAccounts(fakeRpc([{ owner: token, data: new Uint8Array([1, 2]) }, null]), [[at, token], [at, token]]), [new Uint8Array([1, 2]), null]);
  await assert.rejects(fetchOwnedAccounts(fakeRpc([{ owner: stranger, data: new Uint8Array(165) }]), [[at, token]]), { errorName: 'AccountOwnedByWrongProgram' });
});

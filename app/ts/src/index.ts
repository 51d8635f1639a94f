/**
 * @coverage-pool/client: the coverage pool program from TypeScript on @solana/kit.
 *
 * - `./generated`: Codama's client, rendered from the IDL (`npm run generate`):
 *   instruction builders and parsers, account codecs and fetchers, types, errors.
 * - The helpers a generator cannot know, each checked against the Rust code
 *   by golden vectors (`test/golden.json`): PDAs, instruction builders that
 *   fill them in, checked account decoding, quotes, share values, payouts,
 *   error decoding.
 */
export * from './generated';
export * from './accounts';
export * from './cluster';
export * from './errors';
export * from './format';
export * from './instructions';
export * from './math';
export * from './oracle';
export * from './pdas';
export * from './pricing';
export * from './pyth';
export * from './quote';
export * from './rpc';
export * from './send';
export * from './settlement';
export * from './shares';
export * from './validate';
export { IDL_ERRORS, IDL_SEEDS } from './idl.generated';

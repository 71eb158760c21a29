// The contract's rules that need no zod: what the `stint` CLI's quick paths (cli/src/quick.ts)
// may import without loading the schema library, which costs more than Node's own start.
export * from './duration';
export * from './text';
export * from './short-id';
export * from './env-names';
export * from './connect';
export * from './loopback';
export * from './error-codes';
export * from './waiting-words';

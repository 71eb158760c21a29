#!/usr/bin/env node
// The `stint` command on the path (node_modules/.bin, `npm link`): the prebuilt bundle that
// `npm install` made (cli/build.mjs), in this same process. In a checkout where it was not
// built, the TypeScript source through tsx instead (slower: it compiles on every call).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const bundle = new URL('../dist/stint.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const source = new URL('../src/entry.ts', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [tsx, source, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? (result.signal ? 128 : 1));
}

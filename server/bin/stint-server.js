#!/usr/bin/env node
// The `stint-server` command on the path (node_modules/.bin, `npm link`): the prebuilt bundle
// that `npm install` made (server/build.mjs), in this same process. In a checkout where it was
// not built, the TypeScript source through tsx instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const bundle = new URL('../dist/stint-server.mjs', import.meta.url);
if (existsSync(bundle)) {
  const { main } = await import(bundle.href);
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exit(code);
} else {
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  const source = new URL('../src/main.ts', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [tsx, source, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

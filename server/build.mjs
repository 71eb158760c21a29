// Bundles `stint-server` (server/dist/stint-server.mjs): what `npm install` leaves on the path
// (server/bin/stint-server.js runs it), so the server starts without compiling TypeScript.
// Its npm dependencies stay outside, loaded from node_modules as usual (some are native, like
// better-sqlite3); only our own workspace sources are bundled.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const dependencies = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }).filter((name) => !name.startsWith('@stint/'));

await build({
  entryPoints: { 'stint-server': join(here, 'src/main.ts') },
  outdir: join(here, 'dist'),
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  legalComments: 'none',
  logLevel: 'warning',
  sourcemap: 'linked',
  // The dependencies, and anything under them (zod comes with the contract).
  external: [...dependencies, ...dependencies.map((name) => `${name}/*`), 'zod', 'zod/*', 'pino-pretty'],
});

// Bundles the `stint` command (cli/dist/stint.mjs and its chunks, or --outdir DIR): what
// `npm install` leaves on the path (cli/bin/stint.js runs it) and what the desktop app ships in
// its resources (with cli/packaged/stint to launch it). Split into chunks, so each command loads
// only what it uses: the quick commands (src/quick.ts: --version, status, env, ls --json) load
// neither commander nor zod, and only `stint agent` loads core. The native keychain module stays
// outside, loaded on first use by `stint agent` alone.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });

await build({
  entryPoints: { stint: join(here, 'src/entry.ts') },
  outdir: values.outdir ?? join(here, 'dist'),
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  external: ['@napi-rs/keyring', 'pino-pretty'],
  // CommonJS dependencies (commander, pino) call require(); give the ES module one.
  banner: { js: "import { createRequire as __stintRequire } from 'node:module'; const require = __stintRequire(import.meta.url);" },
});

// Bundles the `stint` command into one file (cli/dist/stint.mjs, or --outfile FILE): what the
// desktop app ships in its resources (with cli/packaged/stint to launch it). One file loads in
// a fraction of the time tsx needs to compile the sources, which the shell hook pays whenever
// grants change. Only the native keychain module stays outside, loaded on first use: it is
// needed by `stint agent` alone, so every other command runs from the bare file.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { outfile: { type: 'string' } } });

await build({
  entryPoints: [join(here, 'src/main.ts')],
  outfile: values.outfile ?? join(here, 'dist/stint.mjs'),
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

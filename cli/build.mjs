// Bundles the `stint` command into one file (cli/dist/stint.mjs): what the desktop app ships in
// its resources and what `cli/bin/stint.js` runs when present. One file loads in a fraction of
// the time tsx needs to compile the sources, which the shell hook pays whenever grants change.
// Only the native keychain module stays outside (it is needed by `stint agent` alone).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [join(here, 'src/main.ts')],
  outfile: join(here, 'dist/stint.mjs'),
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

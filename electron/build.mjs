// Bundles the main process and the preload into dist/ (what electron-builder.yml packs).
// Main is one CommonJS file with core and contract inlined; native modules and electron stay
// external (loaded at run time). The preload is bundled fully: a sandboxed preload can only
// require('electron') and a few built-ins, so zod and contract must be inside it.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const production = process.env.NODE_ENV !== 'development';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  sourcemap: production ? false : 'inline',
  minify: false,
  legalComments: 'none',
  logLevel: 'info',
  // conf/electron-store read import.meta.url; in a CJS bundle that is the bundle's own file.
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};

await build({
  ...common,
  entryPoints: [join(here, 'src/main.ts')],
  outfile: join(here, 'dist/main.cjs'),
  external: ['electron', '@napi-rs/keyring', 'better-sqlite3', 'pino-pretty'],
});

await build({
  ...common,
  entryPoints: [join(here, 'src/preload.ts')],
  outfile: join(here, 'dist/preload.cjs'),
  external: ['electron'],
});

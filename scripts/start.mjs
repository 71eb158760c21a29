#!/usr/bin/env node
// `npm start`: the dev server (with its built-in identity provider) and the app against it.
// Where the Electron binary is missing (it cannot be downloaded on every machine), say so in
// one line and start web mode instead: the same UI and core, served to your browser.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { electronBinary } from '../electron/electron-binary.mjs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let values;
try {
  ({ values } = parseArgs({ options: { port: { type: 'string' }, 'ui-port': { type: 'string' }, 'data-dir': { type: 'string' }, web: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
} catch (error) {
  console.error(`npm start: ${error.message}\nUsage: npm start -- [--port N] [--data-dir DIR] [--web] [--ui-port N]`);
  process.exit(2);
}
if (values.help) {
  console.log('Usage: npm start -- [--port N] [--data-dir DIR] [--web] [--ui-port N]\n  --port      the API port (default 8787, or STINT_PORT; 0 picks a free one)\n  --data-dir  the dev server\'s data folder (default .stint-dev)\n  --web       the UI in your browser even where Electron is installed (npm run start:web)\n  --ui-port   web mode: the UI\'s port (default: any free port), to bookmark it');
  process.exit(0);
}
const port = values.port ?? process.env.STINT_PORT ?? '8787';
const dataDir = resolve(values['data-dir'] ?? process.env.STINT_DATA_DIR ?? join(root, '.stint-dev'));
const children = [];
const run = (label, command, argv, env = {}) => {
  const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  child.stdout.on('data', (d) => process.stdout.write(d));
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`${label} stopped (exit ${code}); stopping Stint.`);
      stop(code ?? 1);
    }
  });
  children.push(child);
  return child;
};
let stopping = false;
const stop = (code = 0) => {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500);
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const server = run('The dev server', process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'dev', '--port', port, '--data-dir', dataDir]);
await new Promise((resolve) => {
  let seen = '';
  server.stdout.on('data', (d) => {
    seen += d;
    if (seen.includes('Stint dev server is up')) resolve();
  });
});
// The server says where it listens (with --port 0 only it knows): dev.json in its data folder.
const serverUrl = JSON.parse(readFileSync(join(dataDir, 'dev.json'), 'utf8')).serverUrl;

const binary = values.web ? null : electronBinary();
const build = (workspace, output) => {
  if (existsSync(join(root, output))) return;
  console.log(`Building ${workspace} (first start)...`);
  const result = spawnSync('npm', ['run', 'build', '-w', workspace], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (result.status !== 0) {
    console.error(`Could not build ${workspace}; see above. Fix it, or run \`npm run build\`.`);
    stop(1);
  }
};
// STINT_RENDERER_DIR serves an already built UI (the agent reads it too).
if (!process.env.STINT_RENDERER_DIR) build('@stint/renderer', 'renderer/dist/index.html');

if (binary) {
  build('@stint/electron', 'electron/dist/main.cjs');
  run('Stint (Electron)', binary, [join(root, 'electron')], { STINT_SERVER_URL: serverUrl });
} else {
  if (!values.web) {
    const why = process.env.ELECTRON_SKIP_BINARY_DOWNLOAD ? ' (ELECTRON_SKIP_BINARY_DOWNLOAD is set, so npm skipped it)' : ' (reinstall with `npm ci` where the download can reach GitHub to get it)';
    console.log(`The Electron binary is not installed here${why}; starting Stint in web mode in your browser instead.`);
  }
  // The agent opens the browser itself (--open): it hands it a file that forwards to a one-time
  // address, so the address never sits on a command line (see core's openWebUi).
  const open = process.env.STINT_NO_BROWSER === '1' ? [] : ['--open'];
  const uiPort = values['ui-port'] ? ['--port', values['ui-port']] : [];
  run('The Stint agent', process.execPath, ['--import', 'tsx', 'cli/src/entry.ts', 'agent', '--web', ...uiPort, ...open], { STINT_SERVER_URL: serverUrl });
}

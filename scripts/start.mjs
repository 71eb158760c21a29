#!/usr/bin/env node
// `npm start`: the dev server (with its built-in identity provider) and the app against it.
// Where the Electron binary is missing (it cannot be downloaded on every machine), say so in
// one line and start web mode instead: the same UI and core, served to your browser.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { electronBinary } from '../electron/electron-binary.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || process.env.STINT_PORT || 8787);
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

const server = run('The dev server', process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'dev', '--port', String(port)]);
await new Promise((resolve) => {
  let seen = '';
  server.stdout.on('data', (d) => {
    seen += d;
    if (seen.includes('Stint dev server is up')) resolve();
  });
});
const serverUrl = `http://127.0.0.1:${port}`;

const binary = electronBinary();
const build = (workspace, output) => {
  if (existsSync(join(root, output))) return;
  console.log(`Building ${workspace} (first start)...`);
  const result = spawnSync('npm', ['run', 'build', '-w', workspace], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  if (result.status !== 0) {
    console.error(`Could not build ${workspace}; see above. Fix it, or run \`npm run build\`.`);
    stop(1);
  }
};
build('@stint/renderer', 'renderer/dist/index.html');

if (binary) {
  build('@stint/electron', 'electron/dist/main.cjs');
  run('Stint (Electron)', binary, [join(root, 'electron')], { STINT_SERVER_URL: serverUrl });
} else {
  console.log('The Electron binary is not installed here (it was skipped with ELECTRON_SKIP_BINARY_DOWNLOAD); starting Stint in web mode in your browser instead.');
  const agent = run('The Stint agent', process.execPath, ['--import', 'tsx', 'cli/src/main.ts', 'agent', '--web'], { STINT_SERVER_URL: serverUrl });
  agent.stdout.on('data', (d) => {
    const url = /Open Stint in your browser: (\S+)/.exec(String(d))?.[1];
    if (url && process.env.STINT_NO_BROWSER !== '1') {
      const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
      spawn(opener, [url], { stdio: 'ignore', detached: true }).on('error', () => {}).unref();
    }
  });
}

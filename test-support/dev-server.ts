// The approval server in dev mode as a child process, exactly as `npm start` runs it: its own
// SQLite, its built-in identity provider, the demo catalog. For tests of the parts that talk
// to a server (core, cli, e2e) without importing the server's code.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopWithThisProcess } from './children';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface DevServer {
  serverUrl: string;
  issuer: string;
  dataDir: string;
  /** Everything the server printed (its log), also kept in `logFile`. */
  output(): string;
  logFile: string;
  /** An access token for a demo user (alice, bob, carol, dana), from the built-in IdP. */
  token(user: string): string;
  /** Calls the API as a demo user. */
  api(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
  /** Kills the server outright (SIGKILL), as a crash or an OOM kill would; the data stays. */
  crash(): Promise<void>;
}

export interface DevServerOptions {
  env?: NodeJS.ProcessEnv;
  /** More arguments for `stint-server dev` (e.g. --catalog FILE). */
  args?: string[];
  /** The data folder; it is kept at stop when given (the caller owns it). */
  dataDir?: string;
  logLevel?: 'warn' | 'info' | 'debug';
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'stint-devserver-'));
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'server.log');
  const child: ChildProcess = stopWithThisProcess(spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'dev', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STINT_LOG_LEVEL: options.logLevel ?? 'warn', STINT_DATABASE_URL: '', ...options.env },
  }));
  let output = '';
  const record = (d: Buffer) => {
    output += d;
    appendFileSync(logFile, d);
  };
  child.stdout!.on('data', record);
  child.stderr!.on('data', record);
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dev server did not start within 30 s:\n${output}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`the dev server exited (${code}):\n${output}`)));
    child.stdout!.on('data', () => {
      if (output.includes('Stint dev server is up')) {
        clearTimeout(timer);
        resolvePromise();
      }
    });
  });
  const dev = JSON.parse(readFileSync(join(dataDir, 'dev.json'), 'utf8')) as { serverUrl: string; issuer: string };
  const tokens = new Map<string, string>();
  const token = (user: string) => {
    let value = tokens.get(user);
    if (!value) {
      const result = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'dev-token', user, '--data-dir', dataDir], { cwd: REPO, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`dev-token ${user} failed: ${result.stderr}`);
      value = result.stdout.trim();
      tokens.set(user, value);
    }
    return value;
  };
  return {
    serverUrl: dev.serverUrl,
    issuer: dev.issuer,
    dataDir,
    output: () => output,
    logFile,
    token,
    async api(user, method, path, body) {
      const response = await fetch(`${dev.serverUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token(user)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async crash() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

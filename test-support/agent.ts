// `stint agent` as a child process with its own runtime folder, settings and keychain service,
// pointed at a dev server, with a Chromium "browser" that signs a demo user in.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopWithThisProcess } from './children';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Agent {
  dir: string;
  /** Environment that makes `stint` talk to this agent (runtime dir, PATH with a `stint`). */
  env: NodeJS.ProcessEnv;
  keychainService: string;
  output(): string;
  /** The agent's process id while it runs (to stop and continue it, as a sleeping machine would). */
  pid(): number | undefined;
  /** Where the agent's output also goes (kept after stop, for scans of what it logged). */
  logFile: string;
  /** Runs `stint ...` against this agent. */
  stint(args: string[], options?: { input?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  /** The same without blocking the test's event loop (e.g. `stint login` while a page signs in). */
  stintAsync(args: string[], options?: { timeoutMs?: number }): Promise<{ status: number | null; stdout: string; stderr: string }>;
  /**
   * With `browser: 'hand-off'`: the next sign-in URL the agent asked the system browser to
   * open (each is returned once), waiting for it to arrive.
   */
  nextBrowserUrl(timeoutMs?: number): Promise<string>;
  /** With `web: true`: a fresh one-time address of the UI, as `stint ui --print` gives a person. */
  webLink(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

export interface AgentOptions {
  serverUrl: string;
  user: string;
  web?: boolean;
  dir?: string;
  keychainService?: string;
  /** More environment for the agent and its CLI (e.g. SSH_AUTH_SOCK). */
  env?: NodeJS.ProcessEnv;
  /**
   * The "system browser" for sign-in: 'login-script' (default) signs `user` in with its own
   * Chromium; 'hand-off' only records the URL, for a test that drives the IdP page itself.
   */
  browser?: 'login-script' | 'hand-off';
}

export async function startAgent(options: AgentOptions): Promise<Agent> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `stint-agent-${options.user}-`));
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  // The `stint` a shell finds on PATH, as an installed CLI would be.
  writeFileSync(join(bin, 'stint'), `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(REPO, 'cli/src/entry.ts')}" "$@"\n`);
  chmodSync(join(bin, 'stint'), 0o755);
  const browserUrls = join(dir, 'browser-urls');
  const handOff = join(bin, 'hand-off-browser');
  writeFileSync(handOff, `#!/bin/sh\nprintf '%s\\n' "$1" >> "${browserUrls}"\n`);
  chmodSync(handOff, 0o755);
  const logFile = join(dir, 'agent.log');
  const keychainService = options.keychainService ?? `stint-agent-${options.user}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    STINT_RUNTIME_DIR: join(dir, 'run'),
    STINT_DATA_DIR: join(dir, 'data'),
    STINT_KEYCHAIN_SERVICE: keychainService,
    STINT_SERVER_URL: options.serverUrl,
    STINT_BROWSER: options.browser === 'hand-off' ? handOff : `${process.execPath} --import tsx ${join(REPO, 'test-support/login-browser.ts')} ${options.user}`,
    STINT_LOG_LEVEL: 'info',
    NODE_OPTIONS: '',
    ...options.env,
  };
  let child: ChildProcess | null = null;
  let output = '';
  let urlsTaken = 0;
  const agent: Agent = {
    dir,
    env,
    keychainService,
    output: () => output,
    pid: () => child?.pid,
    logFile,
    stint(args, run = {}) {
      const result = spawnSync(join(bin, 'stint'), args, { cwd: REPO, env, encoding: 'utf8', input: run.input, timeout: run.timeoutMs ?? 60_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    stintAsync(args, run = {}) {
      return new Promise((resolvePromise) => {
        const cli = spawn(join(bin, 'stint'), args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: run.timeoutMs ?? 60_000 });
        let stdout = '';
        let stderr = '';
        cli.stdout.on('data', (d) => (stdout += d));
        cli.stderr.on('data', (d) => (stderr += d));
        cli.once('close', (status) => resolvePromise({ status, stdout, stderr }));
      });
    },
    async nextBrowserUrl(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const urls = existsSync(browserUrls) ? readFileSync(browserUrls, 'utf8').split('\n').filter(Boolean) : [];
        if (urls.length > urlsTaken) return urls[urlsTaken++]!;
        if (Date.now() > deadline) throw new Error(`the agent opened no sign-in page within ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async webLink() {
      const result = await agent.stintAsync(['ui', '--print']);
      if (result.status !== 0) throw new Error(`stint ui --print failed (${result.status}): ${result.stderr}`);
      return result.stdout.trim();
    },
    async start() {
      // A restart reads only what this run prints (the old run said "running" too).
      const from = output.length;
      child = stopWithThisProcess(spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/src/entry.ts'), 'agent', ...(options.web ? ['--web'] : [])], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] }));
      const record = (d: Buffer) => {
        output += d;
        appendFileSync(logFile, d);
      };
      child.stdout!.on('data', record);
      child.stderr!.on('data', record);
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`the agent did not start:\n${output}`)), 30_000);
        const onData = () => {
          const mine = output.slice(from);
          if (mine.includes('Stint agent running') && (!options.web || mine.includes('Open Stint in your browser'))) {
            clearTimeout(timer);
            resolvePromise();
          }
        };
        child!.stdout!.on('data', onData);
        child!.stderr!.on('data', onData);
        child!.once('exit', (code) => reject(new Error(`the agent exited (${code}):\n${output}`)));
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
  await agent.start();
  return agent;
}

// `stint agent` as a child process with its own runtime folder, settings and keychain service,
// pointed at a dev server, with a Chromium "browser" that signs a demo user in.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Agent {
  dir: string;
  /** Environment that makes `stint` talk to this agent (runtime dir, PATH with a `stint`). */
  env: NodeJS.ProcessEnv;
  keychainService: string;
  output(): string;
  /** Runs `stint ...` against this agent. */
  stint(args: string[], options?: { input?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

export async function startAgent(options: { serverUrl: string; user: string; web?: boolean; dir?: string; keychainService?: string }): Promise<Agent> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `stint-agent-${options.user}-`));
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  // The `stint` a shell finds on PATH, as an installed CLI would be.
  writeFileSync(join(bin, 'stint'), `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(REPO, 'cli/src/main.ts')}" "$@"\n`);
  chmodSync(join(bin, 'stint'), 0o755);
  const keychainService = options.keychainService ?? `stint-agent-${options.user}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    STINT_RUNTIME_DIR: join(dir, 'run'),
    STINT_DATA_DIR: join(dir, 'data'),
    STINT_KEYCHAIN_SERVICE: keychainService,
    STINT_SERVER_URL: options.serverUrl,
    STINT_BROWSER: `${process.execPath} --import tsx ${join(REPO, 'test-support/login-browser.ts')} ${options.user}`,
    STINT_LOG_LEVEL: 'info',
    NODE_OPTIONS: '',
  };
  let child: ChildProcess | null = null;
  let output = '';
  const agent: Agent = {
    dir,
    env,
    keychainService,
    output: () => output,
    stint(args, run = {}) {
      const result = spawnSync(join(bin, 'stint'), args, { cwd: REPO, env, encoding: 'utf8', input: run.input, timeout: run.timeoutMs ?? 60_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    async start() {
      child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cli/src/main.ts'), 'agent', ...(options.web ? ['--web'] : [])], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      await new Promise<void>((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`the agent did not start:\n${output}`)), 30_000);
        const onData = () => {
          if (output.includes('Stint agent running') && (!options.web || output.includes('Open Stint in your browser'))) {
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

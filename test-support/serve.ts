// `stint-server serve --config FILE`, as an operator runs it, in a child process; for the tests
// of production mode (server/) and of the app against a real IdP (core/).
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopWithThisProcess } from './children';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface Serve {
  url: string;
  child: ChildProcess;
  /** What the server printed so far (its log). */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the server on a free port; resolves once it says where it listens. */
export async function startServe(options: { config: string; database: string; env?: NodeJS.ProcessEnv }): Promise<Serve> {
  const child = stopWithThisProcess(
    spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'serve', '--config', options.config, '--port', '0', '--database', options.database], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    }),
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve did not start within 30 s:\n${output}`)), 30_000);
    child.once('exit', (code) => fail(new Error(`serve exited (${code}):\n${output}`)));
    child.stdout!.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        done(match[1]!);
      }
    });
  });
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

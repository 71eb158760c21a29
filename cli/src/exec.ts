import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * The least-exposure path: only this child gets the grant's variables. Stale copies a parent
 * shell may hold (any STINT_* and the grant's own names) are removed first, so the child
 * never mixes an old credential with the new one.
 */
export function childEnv(parent: NodeJS.ProcessEnv, grantVars: ReadonlyMap<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (name.startsWith('STINT_') || name === '__STINT_VARS' || name === '__STINT_SEEN' || grantVars.has(name)) continue;
    env[name] = value;
  }
  for (const [name, value] of grantVars) env[name] = value;
  return env;
}

/** Runs the command and resolves with its exit code (128 + signal number when killed, like a shell). */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? `${command}: command not found` : `${command}: ${error.message}`)),
    );
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

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
    if (name.startsWith('STINT_') || name === '__STINT_VARS' || name === '__STINT_SEEN' || name === '__STINT_MARK' || grantVars.has(name)) continue;
    env[name] = value;
  }
  for (const [name, value] of grantVars) env[name] = value;
  return env;
}

/** A command that could not be started, with the exit code a shell would give. */
export class ExecError extends Error {
  constructor(
    message: string,
    readonly exit: number,
  ) {
    super(message);
  }
}

/** Runs the command and resolves with its exit code (128 + signal number when killed, like a shell). */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.once('error', (error: NodeJS.ErrnoException) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      // 127 and 126, as a shell says "not found" and "cannot run": scripts test for them.
      if (error.code === 'ENOENT') reject(new ExecError(`${command}: command not found`, 127));
      else if (error.code === 'EACCES') reject(new ExecError(`${command}: permission denied`, 126));
      else reject(new ExecError(`${command}: ${error.message}`, 1));
    });
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

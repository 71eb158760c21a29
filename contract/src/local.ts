// Where the running app (or `stint agent`) listens, shared by core (which serves) and the CLI
// and shell hooks (which connect). Node-only: exported as '@stint/contract/local', not from the
// index, so the renderer's bundle never pulls node:os.
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface RuntimePaths {
  /** A folder only this user can enter (0700): socket, generation file, prompt data. */
  dir: string;
  /** Unix domain socket, or a named pipe on Windows. */
  socket: string;
  /** A number that changes whenever the set of active grants changes; no secrets. */
  generation: string;
  /** Non-secret "system expires-at" lines for `stint prompt` and the shell hooks. */
  grants: string;
}

/**
 * $XDG_RUNTIME_DIR is per-user and tmpfs on Linux; elsewhere a per-user folder.
 * STINT_RUNTIME_DIR overrides (tests, several agents side by side).
 */
export function runtimePaths(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): RuntimePaths {
  let dir: string;
  if (env.STINT_RUNTIME_DIR) dir = env.STINT_RUNTIME_DIR;
  else if (platform === 'win32') dir = join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'Stint', 'run');
  else if (platform === 'darwin') dir = join(homedir(), 'Library', 'Application Support', 'Stint', 'run');
  else if (env.XDG_RUNTIME_DIR) dir = join(env.XDG_RUNTIME_DIR, 'stint');
  else dir = join(tmpdir(), `stint-${userInfo().uid}`);
  const socket = platform === 'win32' ? `\\\\.\\pipe\\stint-${userInfo().username}-${Buffer.from(dir).toString('hex').slice(-12)}` : join(dir, 'stint.sock');
  return { dir, socket, generation: join(dir, 'generation'), grants: join(dir, 'grants') };
}

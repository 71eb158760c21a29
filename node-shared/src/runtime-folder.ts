// Where the running app (or `stint agent`) listens, shared by core (which serves) and the CLI
// and shell hooks (which connect). Node-only (node:os, node:fs), hence in node-shared, which the
// renderer may not import.
import { lstatSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface RuntimePaths {
  /** A folder only this user can enter (0700): socket, revision file, prompt data. */
  dir: string;
  /** Unix domain socket, or a named pipe on Windows. */
  socket: string;
  /** A number that changes whenever the set of active grants changes; no secrets. */
  revision: string;
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
  return { dir, socket, revision: join(dir, 'revision'), grants: join(dir, 'grants') };
}

/**
 * Why this runtime folder (or a file in it) must not be trusted, or null when it may. Threat:
 * another local user creating the folder first (in a shared /tmp, or wherever the variables
 * point) with a socket that answers `stint env` with their own variables, which a hooked shell
 * would eval. So the folder and each file in it must be the user's own, not a symbolic link,
 * and not writable by group or others. A missing file is fine (nothing to read); the caller
 * decides what a missing folder means. Read-only: the CLI and the hooks never repair a folder.
 */
export function runtimeProblem(paths: Pick<RuntimePaths, 'dir'> & Partial<Pick<RuntimePaths, 'socket' | 'revision' | 'grants'>>, uid = process.getuid?.()): string | null {
  if (uid === undefined) return null; // Windows: a named pipe, and the folder is under the profile
  for (const [path, kind] of [
    [paths.dir, 'folder'],
    [paths.socket, 'socket'],
    [paths.revision, 'file'],
    [paths.grants, 'file'],
  ] as const) {
    if (path === undefined) continue;
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      if (kind === 'folder') return null;
      continue;
    }
    const why = stat.isSymbolicLink()
      ? 'is a symbolic link'
      : stat.uid !== uid
        ? `belongs to another user (uid ${stat.uid})`
        : (stat.mode & 0o022) !== 0
          ? `is writable by ${stat.mode & 0o020 ? 'group' : 'others'} (mode ${(stat.mode & 0o777).toString(8)})`
          : kind === 'folder' && !stat.isDirectory()
            ? 'is not a folder'
            : kind === 'file' && !stat.isFile()
              ? 'is not a regular file'
              : kind === 'socket' && !stat.isSocket()
                ? 'is not a socket'
                : null;
    if (why) {
      const remove = kind === 'folder' ? paths.dir : path;
      return `refusing Stint's runtime ${kind} ${path}: it ${why}. Someone else may have planted it: remove it (rm -r '${remove}'; in a shared /tmp an administrator may have to) and start Stint again.`;
    }
  }
  return null;
}

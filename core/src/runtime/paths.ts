import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';

export { runtimePaths, type RuntimePaths } from '@stint/node-shared/runtime-folder';

/**
 * Creates the folder 0700 and refuses one that another user owns or that is a symlink: in a
 * shared /tmp, an attacker could otherwise pre-create it and read or spoof the socket.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') return;
  const stat = lstatSync(dir);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new Error(`${dir} is not a plain folder; remove it and start Stint again.`);
  if (stat.uid !== userInfo().uid) throw new Error(`${dir} belongs to another user; remove it or set STINT_RUNTIME_DIR.`);
  chmodSync(dir, 0o700);
}

// Where the local socket lives, and the folder around it: the folder is the only thing
// standing between another local user and the socket that hands out credentials.
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, runtimePaths } from './paths';

describe('runtimePaths', () => {
  it('uses $STINT_RUNTIME_DIR above everything else', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      expect(runtimePaths({ STINT_RUNTIME_DIR: '/srv/stint-a', XDG_RUNTIME_DIR: '/run/user/1000' }, platform).dir).toBe('/srv/stint-a');
    }
    expect(runtimePaths({ STINT_RUNTIME_DIR: '/srv/stint-a' }, 'linux')).toEqual({
      dir: '/srv/stint-a',
      socket: '/srv/stint-a/stint.sock',
      revision: '/srv/stint-a/revision',
      grants: '/srv/stint-a/grants',
    });
  });

  it('uses $XDG_RUNTIME_DIR/stint on Linux (per user, tmpfs)', () => {
    const paths = runtimePaths({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'linux');
    expect(paths.dir).toBe('/run/user/1000/stint');
    expect(paths.socket).toBe('/run/user/1000/stint/stint.sock');
  });

  it('falls back to a per-user folder in the temp dir on Linux without $XDG_RUNTIME_DIR', () => {
    const paths = runtimePaths({}, 'linux');
    expect(paths.dir).toBe(join(tmpdir(), `stint-${userInfo().uid}`));
    expect(runtimePaths({ XDG_RUNTIME_DIR: '' }, 'linux').dir).toBe(paths.dir);
  });

  it('uses a per-user folder on macOS and a per-user named pipe on Windows', () => {
    expect(runtimePaths({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'darwin').dir).toBe(join(homedir(), 'Library', 'Application Support', 'Stint', 'run'));
    const windows = runtimePaths({ LOCALAPPDATA: 'C:\\Users\\alice\\AppData\\Local' }, 'win32');
    expect(windows.socket).toMatch(new RegExp(`^\\\\\\\\\\.\\\\pipe\\\\stint-${userInfo().username}-[0-9a-f]{12}$`));
    // Two agents side by side (different dirs) get different pipes.
    expect(runtimePaths({ STINT_RUNTIME_DIR: 'C:\\a' }, 'win32').socket).not.toBe(runtimePaths({ STINT_RUNTIME_DIR: 'C:\\b' }, 'win32').socket);
  });
});

describe.skipIf(process.platform === 'win32')('ensurePrivateDir', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'stint-paths-'));
  });
  afterEach(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('creates a missing folder (and its parents) as 0700, whatever the umask', () => {
    const dir = join(base, 'a', 'b');
    const previous = process.umask(0o000);
    try {
      ensurePrivateDir(dir);
    } finally {
      process.umask(previous);
    }
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('tightens an existing 0755 folder to 0700', () => {
    const dir = join(base, 'run');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    ensurePrivateDir(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a symlink (planted to redirect the socket), and leaves its target alone', () => {
    const target = join(base, 'attacker-folder');
    mkdirSync(target);
    chmodSync(target, 0o777);
    const link = join(base, 'run');
    symlinkSync(target, link);
    expect(() => ensurePrivateDir(link)).toThrow(/not a plain folder/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o777);
  });

  it.skipIf(process.getuid?.() !== 0)('refuses a folder another user owns (pre-created in a shared /tmp)', () => {
    const dir = join(base, 'run');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, 65534, 65534);
    expect(() => ensurePrivateDir(dir)).toThrow(/belongs to another user/);
  });
});

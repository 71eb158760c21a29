// When the keychain cannot be used, Stint must say so and store nothing, never fall back to a
// file (or to the kernel keyring) where a credential would outlive its grant.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const child = fileURLToPath(new URL('./keychain-child.fixture.ts', import.meta.url));
const folders: string[] = [];

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function runChild(command: string[], env: NodeJS.ProcessEnv): Record<string, any> {
  const done = spawnSync(command[0] as string, command.slice(1), { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
  const line = done.stdout.trim().split('\n').at(-1) ?? '';
  if (done.status !== 0 || !line.startsWith('{')) {
    throw new Error(`child failed (status ${done.status}, signal ${done.signal}):\n${done.stdout}\n${done.stderr}`);
  }
  return JSON.parse(line);
}

/** Every regular file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const path = join(dir, name);
    if (statSync(path).isFile() && readFileSync(path).includes(needle)) hits.push(path);
  }
  return hits;
}

describe('with no Secret Service on the bus', () => {
  it('fails every write with a KeychainError that says so, and leaves no secret on disk', () => {
    const root = mkdtempSync(join(tmpdir(), 'stint-nokeychain-'));
    folders.push(root);
    const settings = join(root, 'settings');
    const secret = `sekrit-${randomUUID()}`;
    // HOME and the XDG folders point inside `root` too, so a fallback that wrote anywhere
    // under the user's home would land where the scan below looks.
    const env = {
      ...process.env,
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent',
      HOME: join(root, 'home'),
      XDG_CONFIG_HOME: join(root, 'home/.config'),
      XDG_DATA_HOME: join(root, 'home/.local/share'),
      XDG_RUNTIME_DIR: join(root, 'run'),
    };
    const result = runChild([process.execPath, '--import', 'tsx', child, 'unavailable', settings, `stint-test-${randomUUID()}`, secret], env);

    expect(result.constructed).toBe(true);
    for (const op of ['set', 'get', 'delete', 'store', 'saveRefreshToken']) {
      expect(result[op], op).toMatchObject({ ok: false, name: 'KeychainError' });
    }
    expect(result.set.message).toMatch(/^The OS keychain \(Secret Service\) is not available \(while accessing /);
    // The cause is the failed D-Bus connection: the store was pinned to the Secret Service
    // and did not quietly fall back to the kernel keyring (which answers differently).
    expect(result.set.message).toMatch(/DBus error: Failed to connect to socket \/nonexistent/);
    expect(result.set.message).toMatch(/Unlock or start your keyring/);
    expect(result.set.message).toMatch(/never stores credentials on disk/);
    expect(result.store.message).toMatch(/not available/);
    // Errors name the item, never its value.
    for (const op of ['set', 'store', 'saveRefreshToken']) expect(result[op].message).not.toContain(secret);
    expect(result.entries).toEqual([]);

    expect(result.settingsPath).toBe(join(settings, 'settings.json'));
    expect(readFileSync(result.settingsPath, 'utf8')).toContain('startAtLogin'); // the scan sees real files
    expect(filesContaining(root, secret)).toEqual([]);
  });
});

describe('a first run with no Secret Service on the bus', () => {
  it('says what is wrong with the keychain (not "your session ended"), and refuses sign-in before a browser opens', () => {
    const root = mkdtempSync(join(tmpdir(), 'stint-firstrun-'));
    folders.push(root);
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent', HOME: join(root, 'home'), XDG_RUNTIME_DIR: join(root, 'run') };
    const result = runChild([process.execPath, '--import', 'tsx', child, 'first-run', join(root, 'settings'), `stint-test-${randomUUID()}`, 'unused'], env);
    const keychainSays = /^The OS keychain \(Secret Service\) is not available \(while accessing .+\)\. Unlock or start your keyring/;
    expect(result.authAtStart).toMatchObject({ status: 'signed-out', message: expect.stringMatching(keychainSays) });
    expect(result.signIn).toMatchObject({ ok: false, name: 'KeychainError', message: expect.stringMatching(keychainSays) });
    expect(result.browserOpened).toBe(0);
    expect(result.authAfterSignIn).toMatchObject({ status: 'signed-out', message: expect.stringMatching(keychainSays) });
  });
});

describe('with a locked keyring', () => {
  it('reports the lock as a KeychainError instead of reading "absent", and keeps metadata when the wipe is refused', () => {
    const root = mkdtempSync(join(tmpdir(), 'stint-locked-'));
    folders.push(root);
    const secret = `sekrit-${randomUUID()}`;
    // Its own bus and keyring daemon: locking the shared one would break tests running beside this.
    const command = ['dbus-run-session', '--', 'bash', join(repoRoot, 'scripts/with-keyring.sh')];
    const env = { ...process.env };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    delete env.XDG_RUNTIME_DIR;
    delete env.GNOME_KEYRING_CONTROL;
    const result = runChild(
      [...command, process.execPath, '--import', 'tsx', child, 'locked', join(root, 'settings'), `stint-test-${randomUUID()}`, secret],
      env,
    );

    for (const op of ['readPresent', 'vaultRead', 'setNew', 'deletePresent', 'wipe']) {
      expect(result[op], op).toMatchObject({ ok: false, name: 'KeychainError' });
      expect(result[op].message, op).toMatch(/not available/);
      expect(result[op].message, op).not.toContain(secret);
    }
    // The refused wipe kept the record, so the next clock tick can retry it.
    expect(result.entriesAfterWipe).toEqual(['8a6e0804-2171-4f2f-9d5d-4b4c3f2d1e0a']);
  });
});

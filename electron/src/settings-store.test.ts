// The app's settings file gets the protections core's own store gives it (issue: the Electron
// store was written without the owner-only folder and file). electron-store needs Electron's
// `app` only to find a default folder; given a folder, it runs under a stand-in module.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Named test double: the parts of `electron` electron-store touches outside a renderer.
vi.mock('electron', () => ({ default: { app: undefined, ipcMain: undefined, shell: {} } }));
const { electronSettingsStore } = await import('./settings-store');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'stint-electron-settings-'));
  dirs.push(dir);
  return dir;
};

describe('the app’s settings store', () => {
  it('makes an owner-only folder and file', () => {
    const cwd = join(scratch(), 'Stint');
    const store = electronSettingsStore({ cwd });
    store.set('settings', { serverUrl: 'https://stint.example.com' });
    expect(statSync(cwd).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(store.path).toBe(join(cwd, 'settings.json'));
    expect(store.get('settings')).toEqual({ serverUrl: 'https://stint.example.com' });
  });

  it('tightens a folder and file an older build left open to others', () => {
    const cwd = scratch();
    mkdirSync(cwd, { recursive: true, mode: 0o755 });
    writeFileSync(join(cwd, 'settings.json'), '{}', { mode: 0o644 });
    const store = electronSettingsStore({ cwd });
    expect(statSync(cwd).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
  });

  it('keeps flat keys and reports a corrupt file instead of clearing it', () => {
    const cwd = scratch();
    writeFileSync(join(cwd, 'settings.json'), '{not json', { mode: 0o600 });
    expect(() => electronSettingsStore({ cwd })).toThrow(/cannot be read .* Fix or remove it/s);
    const fine = scratch();
    const store = electronSettingsStore({ cwd: fine });
    store.set('vault.grants', [1]);
    expect(store.get('vault.grants')).toEqual([1]);
    expect(store.get('vault')).toBeUndefined();
  });
});

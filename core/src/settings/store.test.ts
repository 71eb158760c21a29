import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfStore, MemoryStore, type KeyValueStore } from './store';

const folders: string[] = [];
function freshFolder(): string {
  const folder = mkdtempSync(join(tmpdir(), 'stint-store-'));
  folders.push(folder);
  return folder;
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;

describe.each<[string, () => KeyValueStore]>([
  ['ConfStore', () => new ConfStore({ cwd: join(freshFolder(), 'stint') })],
  ['MemoryStore', () => new MemoryStore()],
])('%s (shared KeyValueStore behaviour)', (_name, make) => {
  it('returns undefined for a key never set', () => {
    expect(make().get('missing')).toBeUndefined();
  });

  it('round-trips JSON values', () => {
    const store = make();
    const value = { list: [1, 'two', { three: true }], nothing: null, text: 'ünï 🔑' };
    store.set('k', value);
    store.set('n', 42);
    expect(store.get('k')).toEqual(value);
    expect(store.get<number>('n')).toBe(42);
  });

  it('hands out copies: changing a returned or stored object does not change the store', () => {
    const store = make();
    const value = { list: [1] };
    store.set('k', value);
    value.list.push(2);
    store.get<{ list: number[] }>('k')?.list.push(3);
    expect(store.get('k')).toEqual({ list: [1] });
  });

  it('treats a dotted key as one flat key', () => {
    const store = make();
    store.set('vault.grants', [1]);
    expect(store.get('vault.grants')).toEqual([1]);
    expect(store.get('vault')).toBeUndefined();
  });

  it('deletes, and deleting a missing key is fine', () => {
    const store = make();
    store.set('k', 1);
    store.delete('k');
    store.delete('never-there');
    expect(store.get('k')).toBeUndefined();
  });

  it('refuses undefined (use delete)', () => {
    expect(() => make().set('k', undefined)).toThrow(TypeError);
  });
});

describe('ConfStore on disk', () => {
  it('creates an owner-only folder (0700) and file (0600) named settings.json', () => {
    const cwd = join(freshFolder(), 'nested', 'stint');
    const store = new ConfStore({ cwd });
    store.set('k', 'v');
    expect(store.path).toBe(join(cwd, 'settings.json'));
    expect(mode(cwd)).toBe(0o700);
    expect(mode(store.path)).toBe(0o600);
    expect(JSON.parse(readFileSync(store.path, 'utf8'))).toEqual({ k: 'v' });
  });

  it('keeps 0600 across rewrites and honours configName', () => {
    const store = new ConfStore({ cwd: freshFolder(), configName: 'other' });
    for (let i = 0; i < 3; i++) store.set('k', i);
    expect(store.path.endsWith('/other.json')).toBe(true);
    expect(mode(store.path)).toBe(0o600);
  });

  it('tightens a folder and file left readable by others', () => {
    const cwd = join(freshFolder(), 'stint');
    mkdirSync(cwd, { mode: 0o755 });
    chmodSync(cwd, 0o755);
    writeFileSync(join(cwd, 'settings.json'), '{"k":"old"}', { mode: 0o644 });
    chmodSync(join(cwd, 'settings.json'), 0o644);
    const store = new ConfStore({ cwd });
    expect(mode(cwd)).toBe(0o700);
    expect(mode(store.path)).toBe(0o600);
    expect(store.get('k')).toBe('old');
  });

  it('persists across instances', () => {
    const cwd = freshFolder();
    new ConfStore({ cwd }).set('k', { a: 1 });
    expect(new ConfStore({ cwd }).get('k')).toEqual({ a: 1 });
  });

  it('reports a corrupt file by its path instead of silently clearing it', () => {
    const cwd = freshFolder();
    writeFileSync(join(cwd, 'settings.json'), '{ not json');
    expect(() => new ConfStore({ cwd })).toThrow(/settings\.json cannot be read .*Fix or remove it/);
    expect(readFileSync(join(cwd, 'settings.json'), 'utf8')).toBe('{ not json');
  });

  it('stores no encryption wrapper: the file is plain JSON a person can inspect', () => {
    const store = new ConfStore({ cwd: freshFolder() });
    store.set('serverUrl', 'https://stint.example');
    expect(readFileSync(store.path, 'utf8')).toContain('"serverUrl": "https://stint.example"');
  });
});

describe('MemoryStore', () => {
  it('has no path', () => {
    expect(new MemoryStore().path).toBeNull();
  });
});

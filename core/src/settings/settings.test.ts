import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Settings } from '@stint/contract';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, readSettings, updateSettings } from './settings';
import { ConfStore, MemoryStore } from './store';

describe('DEFAULT_SETTINGS', () => {
  it('are the documented defaults and valid under the contract', () => {
    expect(DEFAULT_SETTINGS).toEqual({
      serverUrl: 'http://127.0.0.1:8787',
      remindersSeconds: [600, 60],
      notifications: { reviews: true, decisions: true, reminders: true, receipts: true },
      pinned: [],
      startAtLogin: false,
    });
    expect(Settings.parse(DEFAULT_SETTINGS)).toEqual(DEFAULT_SETTINGS);
  });

  it('cannot be changed through what readSettings returns', () => {
    const settings = readSettings(new MemoryStore());
    settings.remindersSeconds.push(5);
    settings.notifications.reviews = false;
    expect(DEFAULT_SETTINGS.remindersSeconds).toEqual([600, 60]);
    expect(DEFAULT_SETTINGS.notifications.reviews).toBe(true);
    expect(readSettings(new MemoryStore())).toEqual(DEFAULT_SETTINGS);
  });
});

describe('readSettings', () => {
  it('returns the defaults for an empty store', () => {
    expect(readSettings(new MemoryStore())).toEqual(DEFAULT_SETTINGS);
  });

  it('falls back to the default field by field, keeping every valid field', () => {
    const store = new MemoryStore();
    store.set('settings', {
      serverUrl: 'not a url',
      remindersSeconds: [300],
      notifications: { reviews: 'yes', decisions: false },
      pinned: 'everything',
      startAtLogin: true,
      unknownField: 'ignored',
    });
    expect(readSettings(store)).toEqual({
      serverUrl: DEFAULT_SETTINGS.serverUrl,
      remindersSeconds: [300],
      notifications: { reviews: true, decisions: false, reminders: true, receipts: true },
      pinned: [],
      startAtLogin: true,
    });
  });

  it('never throws on whatever is stored', () => {
    for (const junk of [null, 'text', 42, [1, 2], { notifications: null }, { remindersSeconds: [-1] }, { pinned: [{ systemId: 'BAD ID' }] }]) {
      const store = new MemoryStore();
      store.set('settings', junk);
      const settings = readSettings(store);
      expect(Settings.safeParse(settings).success).toBe(true);
    }
  });

  it('falls back to the defaults when the store itself cannot be read', () => {
    const broken = { path: null, get: () => { throw new Error('corrupt'); }, set: () => undefined, delete: () => undefined };
    expect(readSettings(broken)).toEqual(DEFAULT_SETTINGS);
  });

  it('drops a stored plain-http server address that is not this machine', () => {
    const store = new MemoryStore();
    store.set('settings', { serverUrl: 'http://stint.example.com' });
    expect(readSettings(store).serverUrl).toBe(DEFAULT_SETTINGS.serverUrl);
    store.set('settings', { serverUrl: 'https://stint.example.com' });
    expect(readSettings(store).serverUrl).toBe('https://stint.example.com');
  });
});

describe('updateSettings', () => {
  it('applies a valid patch, persists it and returns the whole settings', () => {
    const folder = mkdtempSync(join(tmpdir(), 'stint-settings-'));
    try {
      const store = new ConfStore({ cwd: folder });
      const pinned = [{ systemId: 'orders-db', durationSeconds: 3600, reason: 'on-call' }];
      const result = updateSettings(store, { serverUrl: 'https://stint.example.com', pinned });
      expect(result).toEqual({ ...DEFAULT_SETTINGS, serverUrl: 'https://stint.example.com', pinned });
      expect(readSettings(new ConfStore({ cwd: folder }))).toEqual(result);
      expect(JSON.parse(readFileSync(store.path as string, 'utf8')).settings).toEqual(result);

      const next = updateSettings(store, { startAtLogin: true });
      expect(next).toEqual({ ...result, startAtLogin: true });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('accepts loopback http and ignores keys given as undefined', () => {
    const store = new MemoryStore();
    expect(updateSettings(store, { serverUrl: 'http://localhost:9000' }).serverUrl).toBe('http://localhost:9000');
    expect(updateSettings(store, { serverUrl: undefined, startAtLogin: true }).serverUrl).toBe('http://localhost:9000');
  });

  it.each<[string, unknown, RegExp]>([
    ['a wrong type', { startAtLogin: 'yes' }, /^Invalid settings: startAtLogin: .*boolean/],
    ['an invalid URL', { serverUrl: 'not a url' }, /^Invalid settings: serverUrl: /],
    ['plain http to another host', { serverUrl: 'http://stint.example.com' }, /^Invalid settings: serverUrl must use https:\/\//],
    ['a file: URL', { serverUrl: 'file:///etc/passwd' }, /^Invalid settings: serverUrl must use https:\/\//],
    ['an unknown key', { theme: 'dark' }, /^Invalid settings: .*theme/],
    ['too many reminders', { remindersSeconds: [1, 2, 3, 4, 5, 6] }, /^Invalid settings: remindersSeconds: /],
    ['a nested wrong type', { notifications: { reviews: 1, decisions: true, reminders: true, receipts: true } }, /notifications\.reviews: /],
    ['a non-object', 'serverUrl=https://x', /^Invalid settings: .*object/],
    ['null', null, /^Invalid settings: .*object/],
  ])('rejects %s with a clear message and changes nothing', (_label, patch, message) => {
    const store = new MemoryStore();
    updateSettings(store, { startAtLogin: true, remindersSeconds: [120] });
    const before = store.get('settings');
    expect(() => updateSettings(store, patch)).toThrow(message);
    expect(store.get('settings')).toEqual(before);
  });

  it('rejects a bad field even when the rest of the patch is good, and writes none of it', () => {
    const store = new MemoryStore();
    expect(() => updateSettings(store, { startAtLogin: true, remindersSeconds: [0] })).toThrow(/remindersSeconds\.0/);
    expect(store.get('settings')).toBeUndefined();
    expect(readSettings(store)).toEqual(DEFAULT_SETTINGS);
  });
});

// core's KeyValueStore over electron-store (core's ConfStore is the same `conf` underneath; this
// one resolves Electron's paths and runs inside the app). Same options as ConfStore, for the
// same reasons: flat keys, an owner-only file, and a corrupt file reported, never cleared
// (clearing would forget which keychain items belong to which grant).
import type { CorePlatform } from '@stint/core';
import Store from 'electron-store';

type KeyValueStore = CorePlatform['store'];

export class ElectronSettingsStore implements KeyValueStore {
  readonly path: string;
  readonly #store: Store<Record<string, unknown>>;

  constructor(options: { cwd: string; name?: string }) {
    this.#store = new Store<Record<string, unknown>>({
      cwd: options.cwd,
      name: options.name ?? 'settings',
      accessPropertiesByDotNotation: false,
      // Threat: another local user reading which systems this person can reach, and until when.
      configFileMode: 0o600,
      clearInvalidConfig: false,
    });
    this.path = this.#store.path;
  }

  get<T>(key: string): T | undefined {
    return this.#store.get(key) as T | undefined;
  }

  set(key: string, value: unknown): void {
    if (value === undefined) throw new TypeError(`Cannot store undefined under "${key}"; use delete() instead.`);
    this.#store.set(key, value);
  }

  delete(key: string): void {
    this.#store.delete(key);
  }
}

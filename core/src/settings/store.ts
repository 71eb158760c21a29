// Non-secret persistence: settings and the vault's grant metadata (which systems, until when,
// which variable names). Nothing secret may be written here; the values live in the OS
// keychain (vault/secret-store.ts). The file is still owner-only, because the metadata tells
// another local user which systems this person can reach and when.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import Conf, { type Options as ConfOptions } from 'conf';

/** Non-secret key/value persistence: electron-store inside Electron, conf elsewhere. */
export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
  /** Where it lives on disk (for the user and for tests that scan it), or null for memory. */
  readonly path: string | null;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

type Settings = Record<string, unknown>;

/** What ConfStore asks of the store it wraps: `conf` itself, or electron-store (a Conf subclass). */
export type ConfFactory = (options: ConfOptions<Settings> & { cwd: string; configName: string }) => Conf<Settings>;

export class ConfStore implements KeyValueStore {
  readonly path: string;
  readonly #conf: Conf<Settings>;

  /**
   * `create` makes the underlying store; the app passes electron-store's, everything else uses
   * conf. Either way the folder and file are made owner-only here, by the same code.
   */
  constructor(options: { cwd: string; configName?: string; create?: ConfFactory }) {
    ownerOnlyDirectory(options.cwd);
    const create: ConfFactory = options.create ?? ((conf) => new Conf<Settings>(conf));
    try {
      this.#conf = create({
        cwd: options.cwd,
        configName: options.configName ?? 'settings',
        configFileMode: FILE_MODE,
        // Keys are flat ('vault.grants' is one key), as in MemoryStore: a dot inside a
        // key must not silently create nested objects in one store and not the other.
        accessPropertiesByDotNotation: false,
        // No encryption: there is nothing secret in this file, and a key shipped inside the
        // app would only pretend otherwise. A corrupt file is reported, not silently cleared,
        // because clearing would forget which keychain items belong to which grant.
        clearInvalidConfig: false,
      });
    } catch (error) {
      throw unreadable(`${options.cwd}/${options.configName ?? 'settings'}.json`, error);
    }
    this.path = this.#conf.path;
    // A file left by an older build (or copied in) may be group/world-readable; conf's mode
    // only applies when it writes, so tighten it now.
    tighten(this.path, FILE_MODE);
  }

  get<T>(key: string): T | undefined {
    try {
      return this.#conf.get(key) as T | undefined;
    } catch (error) {
      throw unreadable(this.path, error);
    }
  }

  set(key: string, value: unknown): void {
    if (value === undefined) throw new TypeError(`Cannot store undefined under "${key}"; use delete() instead.`);
    this.#conf.set(key, value);
  }

  delete(key: string): void {
    this.#conf.delete(key);
  }
}

/** Named test double: same contract as ConfStore (values go through JSON), no disk. */
export class MemoryStore implements KeyValueStore {
  readonly path = null;
  readonly #items = new Map<string, string>();

  get<T>(key: string): T | undefined {
    const text = this.#items.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  set(key: string, value: unknown): void {
    if (value === undefined) throw new TypeError(`Cannot store undefined under "${key}"; use delete() instead.`);
    // Stored as JSON text so callers get a copy, exactly as from the file-backed store:
    // mutating a returned object must not change what is stored.
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError(`Cannot store a ${typeof value} under "${key}": it is not JSON.`);
    this.#items.set(key, text);
  }

  delete(key: string): void {
    this.#items.delete(key);
  }
}

function ownerOnlyDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  tighten(dir, DIR_MODE);
}

function tighten(path: string, mode: number): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return; // not created yet; conf creates the file with FILE_MODE on first write
  }
  if ((stat.mode & 0o777) === mode) return;
  // Only our own files: chmod on a shared folder someone pointed us at (say /tmp) would
  // change it for everyone, so refuse that instead of "fixing" it.
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
    throw new Error(`${path} belongs to another user; Stint keeps its settings only in a folder of your own.`);
  }
  chmodSync(path, mode);
}

function unreadable(path: string, cause: unknown): Error {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new Error(
    `The settings file ${path} cannot be read (${why}). Fix or remove it. Removing it resets settings and ` +
      `forgets which grants this machine holds: their keychain items then stay until removed by hand ` +
      `(each credential still expires on the server at its deadline).`,
    { cause },
  );
}

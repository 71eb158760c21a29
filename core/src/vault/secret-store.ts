// The OS keychain behind one small interface. Grant credentials and the refresh token live
// here and nowhere else: there is deliberately no "fall back to a file" path, because a
// credential written to disk outlives its grant (backups, disk images, other local users).
import type * as Keyring from '@napi-rs/keyring';
import type { AsyncEntry } from '@napi-rs/keyring';

// Loaded on first use, not at import: the `stint` CLI bundles core for `stint agent` alone,
// and every other command must run where this native module is not installed (the copy the
// desktop app ships is built for Electron and sits inside its asar).
let keyring: Promise<typeof Keyring> | null = null;
const loadKeyring = () => (keyring ??= import('@napi-rs/keyring'));

export interface SecretStore {
  /** null when absent. Throws KeychainError when the store cannot be read. */
  get(account: string): Promise<string | null>;
  /** Writes and reads back; throws KeychainError when the value did not stick. */
  set(account: string, secret: string): Promise<void>;
  /** true when something was deleted; throws KeychainError when the store refused. */
  delete(account: string): Promise<boolean>;
}

/** The keychain could not be used; the message says what happened and what the user can do. */
export class KeychainError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeychainError';
  }
}

const platformStore: Record<string, { name: string; remedy: string }> = {
  linux: { name: 'Secret Service', remedy: 'Unlock or start your keyring (gnome-keyring, KWallet) and try again.' },
  darwin: { name: 'Keychain', remedy: 'Unlock your login keychain (Keychain Access) and try again.' },
  win32: { name: 'Credential Manager', remedy: 'Check that Windows Credential Manager is available and try again.' },
};
const keychain = platformStore[process.platform] ?? { name: 'credential store', remedy: 'Make the OS keychain available and try again.' };
const NOTHING_ON_DISK = 'Stint never stores credentials on disk instead.';

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function unavailable(what: string, cause: unknown): KeychainError {
  // An Ambiguous error means another program wrote a second item with our attributes; that
  // is a tampering signal, not an outage, so say so rather than suggesting an unlock.
  if (/ambiguous/i.test(reason(cause))) {
    return new KeychainError(
      `The OS keychain (${keychain.name}) holds more than one item for ${what}, so Stint cannot tell which is its own. ` +
        `Remove the extra items (for example with Seahorse or secret-tool) and try again. ${NOTHING_ON_DISK}`,
      { cause },
    );
  }
  return new KeychainError(
    `The OS keychain (${keychain.name}) is not available (while accessing ${what}). ${keychain.remedy} ${NOTHING_ON_DISK} (It said: ${reason(cause)})`,
    { cause },
  );
}

// Each AsyncEntry holds its own D-Bus connection until it is garbage-collected (measured: one
// file descriptor per live entry). A fresh entry per call exhausts connections and stalls
// after a few hundred operations (MACHINE.md), so entries are created once per account and
// reused. The cache is bounded so a long-running agent that sees thousands of grants does
// not hold thousands of connections; evicted entries are released by GC.
const MAX_CACHED_ENTRIES = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class KeyringSecretStore implements SecretStore {
  /** The keychain service name (the `service` attribute on Linux). */
  readonly service: string;
  readonly #entries = new Map<string, AsyncEntry>();
  // Operations on one account run one after another: a concurrent write could otherwise make
  // the read-back of another write see the wrong value, or a wipe race a store and leave a
  // credential behind after its grant ended.
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: { service?: string } = {}) {
    this.service = options.service ?? 'stint';
  }

  get(account: string): Promise<string | null> {
    return this.#serial(account, () => this.#read(account));
  }

  set(account: string, secret: string): Promise<void> {
    return this.#serial(account, async () => {
      const entry = await this.#entry(account);
      try {
        await entry.setSecret(new TextEncoder().encode(secret));
      } catch (error) {
        throw unavailable(this.#describe(account), error);
      }
      // Verify every write: a keychain that is locked or half-working can accept a write and
      // keep nothing, and the caller must not then believe the credential is stored.
      const back = await this.#read(account);
      if (back !== secret) {
        throw new KeychainError(
          `The OS keychain (${keychain.name}) accepted ${this.#describe(account)} but reading it back ` +
            `${back === null ? 'found nothing' : 'returned a different value'}. ${keychain.remedy} ${NOTHING_ON_DISK}`,
        );
      }
    });
  }

  delete(account: string): Promise<boolean> {
    return this.#serial(account, async () => {
      const entry = await this.#entry(account);
      let deleted: boolean;
      try {
        deleted = await entry.deleteCredential();
      } catch (error) {
        throw unavailable(this.#describe(account), error);
      }
      // A wipe that silently failed would leave a live credential behind after its deadline,
      // so a delete is verified like any other write.
      if ((await this.#read(account)) !== null) {
        throw new KeychainError(
          `The OS keychain (${keychain.name}) still holds ${this.#describe(account)} after deleting it. ` +
            `Remove it by hand (for example with Seahorse or secret-tool) and try again.`,
        );
      }
      return deleted;
    });
  }

  async #read(account: string): Promise<string | null> {
    const entry = await this.#entry(account);
    let bytes: number[] | null;
    try {
      // getSecret, not getPassword: it is the call documented to reject when the store is
      // locked or unreadable. Still, a null here is only "not found by this read" (some
      // backends answer null for a locked item), which is why writes are read back.
      bytes = await entry.getSecret();
    } catch (error) {
      throw unavailable(this.#describe(account), error);
    }
    if (bytes === null) return null;
    try {
      return utf8.decode(Uint8Array.from(bytes));
    } catch (error) {
      throw new KeychainError(
        `The OS keychain item ${this.#describe(account)} is not text Stint wrote (another program may have changed it). ` +
          `Remove it and sign in or request access again.`,
        { cause: error },
      );
    }
  }

  async #entry(account: string): Promise<AsyncEntry> {
    const cached = this.#entries.get(account);
    if (cached) {
      this.#entries.delete(account);
      this.#entries.set(account, cached);
      return cached;
    }
    let entry: AsyncEntry;
    try {
      const { AsyncEntry } = await loadKeyring();
      // Pinned to the Secret Service: unpinned, the binding silently falls back to the kernel
      // keyring (keyutils), which is per-session memory other processes of this user can read
      // and which the user never sees; a missing Secret Service must fail loudly instead.
      // (The option is ignored on macOS and Windows.) A failure is not cached, so the next
      // call retries once the user has started or unlocked their keyring.
      entry = new AsyncEntry(this.service, account, { linux: { store: 'secret-service' } });
    } catch (error) {
      throw unavailable(this.#describe(account), error);
    }
    this.#entries.set(account, entry);
    if (this.#entries.size > MAX_CACHED_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return entry;
  }

  #serial<T>(account: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(account) ?? Promise.resolve();
    const result = previous.then(operation);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(account, tail);
    void tail.then(() => {
      if (this.#queues.get(account) === tail) this.#queues.delete(account);
    });
    return result;
  }

  #describe(account: string): string {
    return `${this.service}/${account}`;
  }
}

/** A named test double for units that are not the vault (in-memory). */
export class MemorySecretStore implements SecretStore {
  readonly service: string;
  readonly #items = new Map<string, string>();

  constructor(options: { service?: string } = {}) {
    this.service = options.service ?? 'stint';
  }

  async get(account: string): Promise<string | null> {
    return this.#items.get(account) ?? null;
  }

  async set(account: string, secret: string): Promise<void> {
    this.#items.set(account, secret);
  }

  async delete(account: string): Promise<boolean> {
    return this.#items.delete(account);
  }
}

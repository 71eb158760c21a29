// The vault: grant credentials in the OS keychain, their non-secret metadata (which system,
// until when, which variable names) in the settings store. The metadata is what drives the
// wipe at the deadline, so the two are kept in step: no metadata without a verified keychain
// item, and no metadata dropped while its keychain item may still exist.
import { z } from 'zod';
import type { KeyValueStore } from '../settings/store';
import { KeychainError, type SecretStore } from './secret-store';

export interface VaultEntry {
  grantId: string;
  requestId: string;
  systemId: string;
  startsAt: string;
  expiresAt: string;
  envNames: string[];
  hasSshKey: boolean;
}

export interface GrantSecret {
  env: Record<string, string>;
  fields: Record<string, string>;
  sshPrivateKey?: string;
  sshCertificate?: string;
}

const META_KEY = 'vault.grants';
const REFRESH_TOKEN_ACCOUNT = 'session:refresh-token';
/** The last ID token: the hint sign-out gives the IdP's end-session page (IdPs send none on refresh). */
const ID_TOKEN_ACCOUNT = 'session:id-token';
/** A client secret the IdP wants from this native app; kept across sign-outs (it is the app's, not the person's). */
const clientSecretAccount = (issuer: string, clientId: string) => `client-secret:${clientId}@${issuer}`;
const grantAccount = (grantId: string) => `grant:${grantId}`;

const parsableTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'not a date and time');
const VaultEntrySchema = z.object({
  grantId: z.string().min(1),
  requestId: z.string(),
  systemId: z.string(),
  startsAt: parsableTime,
  expiresAt: parsableTime,
  envNames: z.array(z.string()),
  hasSshKey: z.boolean(),
});

const GrantSecretSchema = z.object({
  env: z.record(z.string(), z.string()),
  fields: z.record(z.string(), z.string()),
  sshPrivateKey: z.string().optional(),
  sshCertificate: z.string().optional(),
});

export class Vault {
  readonly #secrets: SecretStore;
  readonly #meta: KeyValueStore;

  constructor(secrets: SecretStore, meta: KeyValueStore) {
    this.#secrets = secrets;
    this.#meta = meta;
  }

  /** Keychain first (verified), then metadata; if the keychain write fails nothing is recorded. */
  async store(entry: VaultEntry, secret: GrantSecret): Promise<void> {
    // A deadline that does not parse could never come due, and the credential would stay
    // in the keychain for good: refuse it before anything is written.
    const checked = VaultEntrySchema.safeParse(entry);
    if (!checked.success) {
      throw new Error(`Vault: refusing to store grant ${String(entry.grantId)}: ${checked.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    }
    // Only the known fields go to disk: an entry built by spreading a wider object (a grant
    // with its credential, say) must not carry secret values into the settings file.
    const metadata = checked.data;
    const account = grantAccount(metadata.grantId);
    const alreadyTracked = this.entry(metadata.grantId) !== undefined;
    const value = GrantSecretSchema.safeParse(secret);
    if (!value.success) {
      // Issue paths and types only: zod's messages do not quote the values, which are secret.
      throw new Error(`Vault: refusing to store grant ${metadata.grantId}: the credential is malformed (${value.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')})`);
    }
    await this.#secrets.set(account, JSON.stringify(value.data));
    try {
      this.#writeEntries([...this.entries().filter((e) => e.grantId !== metadata.grantId), metadata]);
    } catch (error) {
      // Without metadata nothing would ever wipe this item at the deadline: take it back out
      // (unless an earlier store of the same grant still tracks it).
      if (!alreadyTracked) await this.#secrets.delete(account).catch(() => false);
      throw error;
    }
  }

  /** The grant's secret; null when the keychain has none for it (or, on some backends, when it is locked). */
  async read(grantId: string): Promise<GrantSecret | null> {
    const account = grantAccount(grantId);
    const text = await this.#secrets.get(account);
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = GrantSecretSchema.safeParse(value);
    if (!parsed.success) {
      // Never echo the item's content: it may be a credential in some other shape.
      throw new KeychainError(
        `The keychain item ${this.#describe(account)} is not a Stint grant credential (another program may have changed it). ` +
          `Release the grant to remove it, then request access again.`,
      );
    }
    return parsed.data;
  }

  entries(): VaultEntry[] {
    const raw = this.#meta.get<unknown>(META_KEY);
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((item) => {
      const entry = repairEntry(item);
      return entry ? [entry] : [];
    });
  }

  entry(grantId: string): VaultEntry | undefined {
    return this.entries().find((e) => e.grantId === grantId);
  }

  /**
   * Deletes the keychain item and the metadata; returns human descriptions of what was removed.
   * Idempotent. If the keychain delete throws, the metadata is KEPT (so a later retry wipes it)
   * and the error propagates.
   */
  async wipe(grantId: string): Promise<string[]> {
    const account = grantAccount(grantId);
    const removed: string[] = [];
    // The receipt is read by a person: it says what went, in words; the log line names the item.
    if (await this.#secrets.delete(account)) removed.push('its credential in the keychain');
    const entries = this.entries();
    const remaining = entries.filter((e) => e.grantId !== grantId);
    if (remaining.length !== entries.length) this.#writeEntries(remaining);
    return removed;
  }

  /** Entries whose expiresAt <= now. */
  overdue(now: number): VaultEntry[] {
    // `!(deadline > now)` rather than `deadline <= now`: a deadline that cannot be read counts
    // as passed, so a damaged record gets its credential wiped instead of kept forever.
    return this.entries().filter((e) => !(Date.parse(e.expiresAt) > now));
  }

  async saveRefreshToken(token: string): Promise<void> {
    await this.#secrets.set(REFRESH_TOKEN_ACCOUNT, token);
  }

  readRefreshToken(): Promise<string | null> {
    return this.#secrets.get(REFRESH_TOKEN_ACCOUNT);
  }

  async deleteRefreshToken(): Promise<void> {
    await this.#secrets.delete(REFRESH_TOKEN_ACCOUNT);
    await this.#secrets.delete(ID_TOKEN_ACCOUNT);
  }

  async saveIdToken(token: string): Promise<void> {
    await this.#secrets.set(ID_TOKEN_ACCOUNT, token);
  }

  readIdToken(): Promise<string | null> {
    return this.#secrets.get(ID_TOKEN_ACCOUNT);
  }

  async saveClientSecret(issuer: string, clientId: string, secret: string): Promise<void> {
    await this.#secrets.set(clientSecretAccount(issuer, clientId), secret);
  }

  readClientSecret(issuer: string, clientId: string): Promise<string | null> {
    return this.#secrets.get(clientSecretAccount(issuer, clientId));
  }

  async deleteClientSecret(issuer: string, clientId: string): Promise<boolean> {
    return this.#secrets.delete(clientSecretAccount(issuer, clientId));
  }

  /**
   * Sign-out: every grant entry and the refresh token. Returns what was removed. Tries every
   * item even when one fails (a half-done sign-out should leave as little as possible), then
   * throws a KeychainError naming what is left; failed grants keep their metadata for a retry.
   */
  async wipeAll(): Promise<string[]> {
    const removed: string[] = [];
    const failures: { what: string; error: unknown }[] = [];
    for (const { grantId } of this.entries()) {
      try {
        removed.push(...(await this.wipe(grantId)));
      } catch (error) {
        failures.push({ what: this.#describe(grantAccount(grantId)), error });
      }
    }
    for (const account of [REFRESH_TOKEN_ACCOUNT, ID_TOKEN_ACCOUNT]) {
      try {
        if (await this.#secrets.delete(account) && account === REFRESH_TOKEN_ACCOUNT) removed.push('your sign-in in the keychain');
      } catch (error) {
        failures.push({ what: this.#describe(account), error });
      }
    }
    if (failures.length > 0) {
      const first = failures[0]?.error;
      throw new KeychainError(
        `Sign-out could not remove ${failures.map((f) => f.what).join(', ')} from the OS keychain` +
          `${removed.length > 0 ? ` (removed: ${removed.join(', ')})` : ''}: ${first instanceof Error ? first.message : String(first)}`,
        { cause: failures.length === 1 ? first : new AggregateError(failures.map((f) => f.error)) },
      );
    }
    return removed;
  }

  #writeEntries(entries: VaultEntry[]): void {
    this.#meta.set(META_KEY, entries);
  }

  #describe(account: string): string {
    const service = (this.#secrets as { service?: unknown }).service;
    return `${typeof service === 'string' ? service : 'stint'}/${account}`;
  }
}

/**
 * Metadata that no longer validates (hand-edited, or left by another build) still names a
 * keychain item. Dropping it would strand that credential with nothing to wipe it, so a
 * record that at least has a grant id is kept, with a passed deadline when its own cannot be
 * read (the next clock tick then wipes it) and an SSH key assumed (so the agent is cleaned).
 */
function repairEntry(item: unknown): VaultEntry | null {
  const exact = VaultEntrySchema.safeParse(item);
  if (exact.success) return exact.data;
  if (typeof item !== 'object' || item === null) return null;
  const record = item as Record<string, unknown>;
  if (typeof record.grantId !== 'string' || record.grantId === '') return null;
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const time = (value: unknown) => (typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? value : new Date(0).toISOString());
  return {
    grantId: record.grantId,
    requestId: text(record.requestId),
    systemId: text(record.systemId),
    startsAt: time(record.startsAt),
    expiresAt: time(record.expiresAt),
    envNames: Array.isArray(record.envNames) ? record.envNames.filter((n): n is string => typeof n === 'string') : [],
    hasSshKey: typeof record.hasSshKey === 'boolean' ? record.hasSshKey : true,
  };
}

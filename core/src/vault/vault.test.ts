// The vault against the real keychain and a real settings file: secrets in the keychain,
// names and deadlines on disk, and the two kept in step when either side fails.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfStore, MemoryStore, type KeyValueStore } from '../settings/store';
import { requireSecretService, secretToolClear, secretToolLookup, secretToolSearch, testService } from './keyring.fixture';
import { KeychainError, KeyringSecretStore, MemorySecretStore, type SecretStore } from './secret-store';
import { Vault, type GrantSecret, type VaultEntry } from './vault';

const GRANT = '5d1c2a9e-0f4b-4c8e-9a51-7f0b3e2d6c11';
const OTHER = 'c0ffee00-1234-4abc-8def-0123456789ab';

function entry(grantId: string, expiresAt = '2026-03-01T12:00:00.000Z'): VaultEntry {
  return {
    grantId,
    requestId: '9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a',
    systemId: 'orders-db',
    startsAt: '2026-03-01T11:00:00.000Z',
    expiresAt,
    envNames: ['PGUSER', 'PGPASSWORD'],
    hasSshKey: true,
  };
}

const secret: GrantSecret = {
  env: { PGUSER: 'stint_alice_4f2a', PGPASSWORD: 'env-value-Zq8-secret' },
  fields: { password: 'field-value-Zq8-secret' },
  sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nssh-key-Zq8-secret\n-----END OPENSSH PRIVATE KEY-----\n',
  sshCertificate: 'ssh-ed25519-cert-v01@openssh.com AAAAcert-Zq8',
};
const SECRET_VALUES = ['stint_alice_4f2a', 'env-value-Zq8-secret', 'field-value-Zq8-secret', 'ssh-key-Zq8-secret', 'AAAAcert-Zq8'];

/** A SecretStore whose chosen operations refuse, as a locked or vanished keychain would. */
class RefusingSecretStore implements SecretStore {
  readonly inner = new MemorySecretStore();
  refuse = new Set<'get' | 'set' | 'delete'>();
  get(account: string) {
    return this.refuse.has('get') ? Promise.reject(new KeychainError('refused get')) : this.inner.get(account);
  }
  set(account: string, value: string) {
    return this.refuse.has('set') ? Promise.reject(new KeychainError('refused set')) : this.inner.set(account, value);
  }
  delete(account: string) {
    return this.refuse.has('delete') ? Promise.reject(new KeychainError('refused delete')) : this.inner.delete(account);
  }
}

describe('Vault on the real keychain and a settings file', () => {
  const service = testService();
  let folder: string;
  let meta: ConfStore;
  let vault: Vault;

  beforeAll(requireSecretService);
  afterAll(() => secretToolClear(service));
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'stint-vault-'));
    meta = new ConfStore({ cwd: folder });
    vault = new Vault(new KeyringSecretStore({ service }), meta);
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('stores the secret in the keychain and only names and deadlines on disk', async () => {
    // Extra fields on the entry (a careless spread of a wider object) must not reach the file.
    const careless = { ...entry(GRANT), password: 'spread-Zq8-secret' } as VaultEntry;
    await vault.store(careless, secret);

    const inKeychain = secretToolLookup(service, `grant:${GRANT}`);
    expect(inKeychain).not.toBeNull();
    expect(JSON.parse(inKeychain as string)).toEqual(secret);

    const file = readFileSync(meta.path, 'utf8');
    for (const expected of [GRANT, 'orders-db', '2026-03-01T12:00:00.000Z', 'PGUSER', 'PGPASSWORD']) expect(file).toContain(expected);
    for (const value of [...SECRET_VALUES, 'spread-Zq8-secret']) expect(file).not.toContain(value);
    expect(JSON.parse(file)['vault.grants']).toEqual([entry(GRANT)]);

    expect(vault.entries()).toEqual([entry(GRANT)]);
    expect(vault.entry(GRANT)).toEqual(entry(GRANT));
    expect(await vault.read(GRANT)).toEqual(secret);
    expect(await vault.read(OTHER)).toBeNull();
  });

  it('replaces the record when the same grant is stored again (an extension)', async () => {
    await vault.store(entry(GRANT), secret);
    const extended = entry(GRANT, '2026-03-01T13:00:00.000Z');
    await vault.store(extended, { ...secret, env: { PGPASSWORD: 'rotated' } });
    expect(vault.entries()).toEqual([extended]);
    expect((await vault.read(GRANT))?.env).toEqual({ PGPASSWORD: 'rotated' });
  });

  it('wipes the keychain item and the record, and says what it removed; a second wipe is a no-op', async () => {
    await vault.store(entry(GRANT), secret);
    await vault.store(entry(OTHER), secret);

    expect(await vault.wipe(GRANT)).toEqual(["its credential in the keychain"]);
    expect(secretToolLookup(service, `grant:${GRANT}`)).toBeNull();
    expect(vault.entry(GRANT)).toBeUndefined();
    expect(JSON.parse(readFileSync(meta.path, 'utf8'))['vault.grants']).toEqual([entry(OTHER)]);
    expect(await vault.read(GRANT)).toBeNull();

    expect(await vault.wipe(GRANT)).toEqual([]);
    expect(secretToolLookup(service, `grant:${OTHER}`)).not.toBeNull(); // the other grant is untouched
    await vault.wipe(OTHER);
  });

  it('wipes an orphaned keychain item even when no record names it', async () => {
    await new KeyringSecretStore({ service }).set(`grant:${GRANT}`, '{"env":{},"fields":{}}');
    expect(await vault.wipe(GRANT)).toEqual(["its credential in the keychain"]);
    expect(secretToolLookup(service, `grant:${GRANT}`)).toBeNull();
  });

  it('keeps the refresh token in the keychain only', async () => {
    meta.set('unrelated', true); // so there is a settings file to look into
    await vault.saveRefreshToken('rt-Zq8-secret');
    expect(secretToolLookup(service, 'session:refresh-token')).toBe('rt-Zq8-secret');
    expect(await vault.readRefreshToken()).toBe('rt-Zq8-secret');
    expect(readFileSync(meta.path, 'utf8')).not.toContain('rt-Zq8-secret');
    await vault.deleteRefreshToken();
    expect(secretToolLookup(service, 'session:refresh-token')).toBeNull();
    expect(await vault.readRefreshToken()).toBeNull();
    await vault.deleteRefreshToken(); // idempotent
  });

  it('wipeAll removes every grant and the refresh token', async () => {
    await vault.store(entry(GRANT), secret);
    await vault.store(entry(OTHER), secret);
    await vault.saveRefreshToken('rt-Zq8-secret');

    const removed = await vault.wipeAll();
    expect(removed).toEqual(['its credential in the keychain', 'its credential in the keychain', 'your sign-in in the keychain']);
    expect(vault.entries()).toEqual([]);
    const listing = secretToolSearch(service);
    for (const account of [`grant:${GRANT}`, `grant:${OTHER}`, 'session:refresh-token']) expect(listing).not.toContain(account);
    expect(await vault.wipeAll()).toEqual([]);
  });

  it('reads a keychain item that is not a grant credential as an error that does not echo it', async () => {
    await new KeyringSecretStore({ service }).set(`grant:${GRANT}`, 'not-json-Zq8-secret');
    const error = await vault.read(GRANT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeychainError);
    expect((error as Error).message).toMatch(/not a Stint grant credential/);
    expect((error as Error).message).not.toContain('not-json-Zq8-secret');
    await vault.wipe(GRANT);
  });
});

describe('Vault when one side fails', () => {
  let secrets: RefusingSecretStore;
  let meta: MemoryStore;
  let vault: Vault;
  beforeEach(() => {
    secrets = new RefusingSecretStore();
    meta = new MemoryStore();
    vault = new Vault(secrets, meta);
  });

  it('records nothing when the keychain write fails', async () => {
    secrets.refuse.add('set');
    await expect(vault.store(entry(GRANT), secret)).rejects.toThrow(KeychainError);
    expect(vault.entries()).toEqual([]);
    expect(meta.get('vault.grants')).toBeUndefined();
  });

  it('keeps the record when the keychain delete fails, so a later wipe can retry', async () => {
    await vault.store(entry(GRANT), secret);
    secrets.refuse.add('delete');
    await expect(vault.wipe(GRANT)).rejects.toThrow('refused delete');
    expect(vault.entry(GRANT)).toEqual(entry(GRANT));
    expect(vault.overdue(Date.parse('2027-01-01T00:00:00Z')).map((e) => e.grantId)).toEqual([GRANT]);

    secrets.refuse.clear();
    expect(await vault.wipe(GRANT)).toEqual(["its credential in the keychain"]);
    expect(vault.entries()).toEqual([]);
    expect(await secrets.inner.get(`grant:${GRANT}`)).toBeNull();
  });

  it('wipeAll tries every item, then throws naming what is left and keeps its record', async () => {
    await vault.store(entry(GRANT), secret);
    await vault.saveRefreshToken('rt');
    secrets.refuse.add('delete');
    const error = await vault.wipeAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeychainError);
    expect((error as Error).message).toContain(`stint/grant:${GRANT}`);
    expect((error as Error).message).toContain('stint/session:refresh-token');
    expect(vault.entries().map((e) => e.grantId)).toEqual([GRANT]);
  });

  it('takes the keychain item back out when the metadata cannot be written', async () => {
    const failingMeta: KeyValueStore = { path: null, get: () => undefined, set: () => { throw new Error('disk full'); }, delete: () => undefined };
    const lonely = new Vault(secrets, failingMeta);
    await expect(lonely.store(entry(GRANT), secret)).rejects.toThrow('disk full');
    // Otherwise the credential would sit in the keychain with nothing to wipe it at its deadline.
    expect(await secrets.inner.get(`grant:${GRANT}`)).toBeNull();
  });

  it('refuses an entry whose deadline cannot be read, before writing anything', async () => {
    await expect(vault.store(entry(GRANT, 'next tuesday'), secret)).rejects.toThrow(/expiresAt/);
    expect(await secrets.inner.get(`grant:${GRANT}`)).toBeNull();
    expect(vault.entries()).toEqual([]);
  });
});

describe('Vault.overdue and damaged records', () => {
  it('lists entries whose deadline is at or before now', async () => {
    const vault = new Vault(new MemorySecretStore(), new MemoryStore());
    await vault.store(entry(GRANT, '2026-03-01T12:00:00.000Z'), secret);
    await vault.store(entry(OTHER, '2026-03-01T13:00:00.000Z'), secret);
    const at = (iso: string) => vault.overdue(Date.parse(iso)).map((e) => e.grantId);
    expect(at('2026-03-01T11:59:59.999Z')).toEqual([]);
    expect(at('2026-03-01T12:00:00.000Z')).toEqual([GRANT]);
    expect(at('2026-03-01T12:59:59.999Z')).toEqual([GRANT]);
    expect(at('2026-03-01T13:00:00.000Z')).toEqual([GRANT, OTHER]);
  });

  it('keeps a damaged record that still names a grant, as overdue, and drops one that does not', () => {
    const meta = new MemoryStore();
    meta.set('vault.grants', [
      { grantId: GRANT, systemId: 'orders-db', expiresAt: 'garbled', envNames: 'PGPASSWORD' },
      { systemId: 'no-grant-id' },
      'not even an object',
      entry(OTHER, '2099-01-01T00:00:00.000Z'),
    ]);
    const vault = new Vault(new MemorySecretStore(), meta);
    expect(vault.entries().map((e) => e.grantId)).toEqual([GRANT, OTHER]);
    expect(vault.entry(GRANT)).toMatchObject({ systemId: 'orders-db', envNames: [], hasSshKey: true });
    expect(vault.overdue(Date.parse('2026-01-01T00:00:00Z')).map((e) => e.grantId)).toEqual([GRANT]);
  });

  it('treats a missing or non-list record as no grants', () => {
    const meta = new MemoryStore();
    expect(new Vault(new MemorySecretStore(), meta).entries()).toEqual([]);
    meta.set('vault.grants', { not: 'a list' });
    expect(new Vault(new MemorySecretStore(), meta).entries()).toEqual([]);
  });
});

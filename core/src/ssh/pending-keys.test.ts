// Pending SSH keys against the real keychain: a key is found by the certificate issued for it,
// whatever the order in which the request's reply and the grant's activation arrive.
import sshpk from 'sshpk';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../settings/store';
import { KeyringSecretStore } from '../vault/secret-store';
import { requireSecretService, secretToolLookup, testService } from '../vault/keyring.fixture';
import { generateSshKeyPair } from './keys';
import { credentialCertificate, PendingSshKeys, publicKeyFingerprint } from './pending-keys';

const ca = sshpk.parsePrivateKey(generateSshKeyPair('test-ca').privateKey, 'ssh-private');

/** An OpenSSH user certificate for `publicKey`, signed by a throwaway CA (as the server's CA does). */
function certify(publicKey: string): string {
  const cert = sshpk.createCertificate(sshpk.identityForUser('alice'), sshpk.parseKey(publicKey, 'ssh'), sshpk.identityForUser('stint-ca'), ca, { lifetime: 600 });
  return cert.toString('openssh');
}

describe('pending SSH keys', () => {
  beforeAll(requireSecretService);
  let service: string;
  let keys: PendingSshKeys;
  afterEach(async () => keys.dropAll());

  const fresh = () => {
    service = testService();
    keys = new PendingSshKeys(new KeyringSecretStore({ service }), new MemoryStore());
  };

  it('finds the private key by the certificate issued for it, before the request id is known', async () => {
    fresh();
    const mine = generateSshKeyPair('stint:bastion');
    const other = generateSshKeyPair('stint:bastion');
    const fingerprint = await keys.file(mine.publicKey, mine.privateKey);
    await keys.file(other.publicKey, other.privateKey);
    expect(secretToolLookup(service, `ssh-key:${fingerprint}`)).toBe(mine.privateKey);
    // The grant's activation can arrive before createRequest's reply: no request id is needed.
    expect(await keys.forCertificate(certify(mine.publicKey))).toEqual({ fingerprint: publicKeyFingerprint(mine.publicKey), privateKey: mine.privateKey });
    expect((await keys.forCertificate(certify(other.publicKey)))?.privateKey).toBe(other.privateKey);
  });

  it('has nothing for a certificate of a key made elsewhere, or for text that is not a certificate', async () => {
    fresh();
    const mine = generateSshKeyPair('stint:bastion');
    await keys.file(mine.publicKey, mine.privateKey);
    expect(await keys.forCertificate(certify(generateSshKeyPair('elsewhere').publicKey))).toBeNull();
    expect(await keys.forCertificate('ssh-ed25519-cert-v01@openssh.com AAAAnot-base64')).toBeNull();
  });

  it('drops the key of a request that ended without a grant, and every key at sign-out', async () => {
    fresh();
    const denied = generateSshKeyPair('stint:bastion');
    const waiting = generateSshKeyPair('stint:bastion');
    const deniedPrint = await keys.file(denied.publicKey, denied.privateKey);
    const waitingPrint = await keys.file(waiting.publicKey, waiting.privateKey);
    keys.madeFor(deniedPrint, 'request-1');
    keys.madeFor(waitingPrint, 'request-2');
    await keys.dropForRequest('request-1');
    expect(secretToolLookup(service, `ssh-key:${deniedPrint}`)).toBeNull();
    expect(secretToolLookup(service, `ssh-key:${waitingPrint}`)).toBe(waiting.privateKey);
    await keys.dropAll();
    expect(secretToolLookup(service, `ssh-key:${waitingPrint}`)).toBeNull();
  });
});

describe('the certificate in a credential', () => {
  it("is an SSH system's `certificate`, or a bundle member's `<member>.certificate`", () => {
    expect(credentialCertificate({ certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA1', principal: 'alice' })).toBe('ssh-ed25519-cert-v01@openssh.com AAAA1');
    expect(credentialCertificate({ 'prod-db.role': 'stint_x', 'bastion.certificate': 'ssh-ed25519-cert-v01@openssh.com AAAA2' })).toBe('ssh-ed25519-cert-v01@openssh.com AAAA2');
    expect(credentialCertificate({ 'prod-db.role': 'stint_x' })).toBeUndefined();
  });
});

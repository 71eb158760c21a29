// Key pairs made for SSH requests that are not yet grants. Each is filed in the keychain under
// its public key's fingerprint the moment it is made, and found again by the fingerprint of the
// certificate the server issues for it: the lookup needs nothing from the request, so it does
// not matter whether the grant's activation or the request's reply reaches core first.
import sshpk from 'sshpk';
import { z } from 'zod';
import type { KeyValueStore } from '../settings/store';
import { generateSshKeyPair } from './keys';
import type { SecretStore } from '../vault/secret-store';

const META_KEY = 'ssh.pendingKeys';
const keyAccount = (fingerprint: string) => `ssh-key:${fingerprint}`;
const PendingSchema = z.array(z.object({ fingerprint: z.string().min(1), requestId: z.string().nullable() }));
type Pending = z.infer<typeof PendingSchema>;

/** "SHA256:…" of an OpenSSH public key line, or of the key a certificate certifies. */
export function publicKeyFingerprint(publicKey: string): string {
  return sshpk.parseKey(publicKey, 'ssh').fingerprint('sha256').toString();
}

/**
 * The SSH certificate in a grant's credential fields: `certificate` for an SSH system, and
 * `<member>.certificate` for a bundle holding one (the bundle prefixes each member's fields).
 * A bundle's SSH members all certify the one key the request sent, so the first will do.
 */
export function credentialCertificate(fields: Readonly<Record<string, string>>): string | undefined {
  return fields.certificate ?? Object.entries(fields).find(([name]) => name.endsWith('.certificate'))?.[1];
}

export function certifiedKeyFingerprint(certificate: string): string {
  return sshpk.parseCertificate(Buffer.from(certificate), 'openssh').subjectKey.fingerprint('sha256').toString();
}

export class PendingSshKeys {
  constructor(
    private readonly secrets: SecretStore,
    private readonly meta: KeyValueStore,
  ) {}

  /** A fresh key pair for one request's grant, filed at once; the private half never leaves this machine's keychain. */
  async make(comment: string): Promise<{ publicKey: string; fingerprint: string }> {
    const pair = generateSshKeyPair(comment);
    return { publicKey: pair.publicKey, fingerprint: await this.file(pair.publicKey, pair.privateKey) };
  }

  /** Keychain first; the non-secret list (what sign-out and ended requests clean up) after. */
  async file(publicKey: string, privateKey: string): Promise<string> {
    const fingerprint = publicKeyFingerprint(publicKey);
    await this.secrets.set(keyAccount(fingerprint), privateKey);
    this.write([...this.list().filter((p) => p.fingerprint !== fingerprint), { fingerprint, requestId: null }]);
    return fingerprint;
  }

  /** Which request a key was made for, so the key goes when that request ends without a grant. */
  madeFor(fingerprint: string, requestId: string): void {
    this.write(this.list().map((p) => (p.fingerprint === fingerprint ? { ...p, requestId } : p)));
  }

  /** The private key whose public half the certificate certifies, if it was made here. */
  async forCertificate(certificate: string): Promise<{ fingerprint: string; privateKey: string } | null> {
    let fingerprint: string;
    try {
      fingerprint = certifiedKeyFingerprint(certificate);
    } catch {
      return null;
    }
    const privateKey = await this.secrets.get(keyAccount(fingerprint));
    return privateKey ? { fingerprint, privateKey } : null;
  }

  async drop(fingerprint: string): Promise<void> {
    await this.secrets.delete(keyAccount(fingerprint));
    this.write(this.list().filter((p) => p.fingerprint !== fingerprint));
  }

  async dropForRequest(requestId: string): Promise<void> {
    for (const pending of this.list().filter((p) => p.requestId === requestId)) await this.drop(pending.fingerprint);
  }

  async dropAll(): Promise<void> {
    for (const pending of this.list()) await this.drop(pending.fingerprint);
  }

  private list(): Pending {
    // The settings file is outside input: a hand-edited list is ignored, never trusted.
    const parsed = PendingSchema.safeParse(this.meta.get(META_KEY) ?? []);
    return parsed.success ? parsed.data : [];
  }

  private write(list: Pending): void {
    if (list.length === 0) this.meta.delete(META_KEY);
    else this.meta.set(META_KEY, list);
  }
}

import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { SshReader, SshWriter } from '@stint/node-shared/ssh-wire';
import { z } from 'zod';
import { readSecret } from '../config/load';
import { SecretRef, type SystemConfig } from '../config/schema';
import { ProviderRefusal, type IssueInput, type IssuedCredential, type Provider, type ProviderFactory } from './provider';

// OpenSSH user certificates (PROTOCOL.certkeys), encoded here and signed with node:crypto.
// Not sshpk: it signs RSA certificates with SHA-1 ("ssh-rsa"), which OpenSSH >= 8.2 refuses
// as a CA signature, and it has no public API for critical options such as source-address.

export { SshReader, SshWriter } from '@stint/node-shared/ssh-wire';

const toBase64Url = (b: Buffer) => b.toString('base64url');
const bigintFromBase64Url = (s: string | undefined) => BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`);
const bigintToBase64Url = (n: bigint) => {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
};
const bitLength = (n: bigint) => n.toString(2).length;

/** OpenSSH's own bounds (sshkey.c): below 1024 it refuses, above 16384 it will not load. */
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 16_384;

// ---------------------------------------------------------------------------------------
// Public keys

export type SshKeyType = 'ssh-ed25519' | 'ssh-rsa';

export interface SshPublicKey {
  type: SshKeyType;
  /** The key's wire blob (what the base64 in an authorized_keys line decodes to). */
  blob: Buffer;
  /** The key's parts as they go into a certificate, after the nonce. */
  certParts: Buffer;
  bits: number;
  /** "SHA256:..." as ssh-keygen -l and sshd's logs print it. */
  fingerprint: string;
  /** "type base64", without the comment. */
  line: string;
}

const fingerprintOf = (blob: Buffer) => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

function publicKeyFromParts(type: SshKeyType, parts: { ed25519?: Buffer; e?: bigint; n?: bigint }): SshPublicKey {
  const certParts = type === 'ssh-ed25519' ? new SshWriter().string(parts.ed25519!).toBuffer() : new SshWriter().mpint(parts.e!).mpint(parts.n!).toBuffer();
  const blob = Buffer.concat([new SshWriter().string(type).toBuffer(), certParts]);
  return {
    type,
    blob,
    certParts,
    bits: type === 'ssh-ed25519' ? 256 : bitLength(parts.n!),
    fingerprint: fingerprintOf(blob),
    line: `${type} ${blob.toString('base64')}`,
  };
}

export class PublicKeyError extends Error {
  override name = 'PublicKeyError';
}

const GENERATE_HINT = 'generate one with: ssh-keygen -t ed25519';

/**
 * Parses one OpenSSH public key line ("ssh-ed25519 AAAA... comment"). Only Ed25519 and RSA of
 * 2048 bits or more are certified: shorter RSA keys are within reach of factoring, and
 * refusing the rest (DSA, ECDSA, security-key types, certificates) keeps one reviewed path.
 */
export function parsePublicKey(text: string): SshPublicKey {
  const trimmed = text.trim();
  if (trimmed === '') throw new PublicKeyError(`The public key is empty; send the contents of your .pub file (${GENERATE_HINT}).`);
  if (/^-----BEGIN/.test(trimmed)) throw new PublicKeyError('That is a private key or a PEM file; send the public key (the .pub file) instead, never the private key.');
  if (/[\r\n]/.test(trimmed)) throw new PublicKeyError('Send exactly one public key line, not several.');
  const [type = '', data = ''] = trimmed.split(/[ \t]+/);
  if (type.includes('-cert-v01@openssh.com')) throw new PublicKeyError('That is a certificate, not a public key; send the plain public key (the .pub file without -cert).');
  if (type !== 'ssh-ed25519' && type !== 'ssh-rsa') {
    if (/^(ssh-|ecdsa-|sk-)/.test(type)) throw new PublicKeyError(`${type} keys are not accepted; use an ssh-ed25519 key (${GENERATE_HINT}) or ssh-rsa of at least ${RSA_MIN_BITS} bits.`);
    throw new PublicKeyError(`That is not an OpenSSH public key line (expected "ssh-ed25519 AAAA... comment"; ${GENERATE_HINT}).`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new PublicKeyError(`The ${type} key's base64 data is missing or damaged; copy the whole line from your .pub file.`);
  const blob = Buffer.from(data, 'base64');
  let key: SshPublicKey;
  try {
    const r = new SshReader(blob);
    if (r.text() !== type) throw new Error('type mismatch');
    if (type === 'ssh-ed25519') {
      const pk = r.string();
      if (pk.length !== 32) throw new Error('bad length');
      if (!r.atEnd) throw new Error('trailing data');
      key = publicKeyFromParts(type, { ed25519: pk });
    } else {
      const e = r.mpint();
      const n = r.mpint();
      if (!r.atEnd) throw new Error('trailing data');
      if (e < 3n || e % 2n === 0n || n % 2n === 0n) throw new Error('not an RSA key');
      key = publicKeyFromParts(type, { e, n });
    }
  } catch {
    throw new PublicKeyError(`The ${type} key's data is damaged (it does not decode as a ${type} key); copy the whole line from your .pub file.`);
  }
  if (key.type === 'ssh-rsa' && key.bits < RSA_MIN_BITS) {
    throw new PublicKeyError(`This RSA key has ${key.bits} bits; at least ${RSA_MIN_BITS} are required (better, ${GENERATE_HINT}).`);
  }
  if (key.type === 'ssh-rsa' && key.bits > RSA_MAX_BITS) {
    throw new PublicKeyError(`This RSA key has ${key.bits} bits; OpenSSH accepts at most ${RSA_MAX_BITS}.`);
  }
  return key;
}

/** For request-time checks: null when the key would be certified, else what to fix. */
export function validatePublicKey(text: string): string | null {
  try {
    parsePublicKey(text);
    return null;
  } catch (error) {
    if (error instanceof PublicKeyError) return error.message;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------
// The certificate authority

export interface CertificateAuthority {
  key: SshPublicKey;
  /** An SSH signature blob (string algorithm, string signature) over data. */
  sign(data: Buffer): Buffer;
}

const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** The one private key in an unencrypted "openssh-key-v1" file, as a JWK node:crypto can import. */
function jwkFromOpenSshPrivateKey(pem: string): JsonWebKey {
  const body = pem.replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '').replace(/\s+/g, '');
  const data = Buffer.from(body, 'base64');
  if (!data.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) throw new Error('not an openssh-key-v1 private key');
  const r = new SshReader(data.subarray(OPENSSH_MAGIC.length));
  const cipher = r.text();
  r.string(); // kdf name
  r.string(); // kdf options
  if (cipher !== 'none') {
    throw new Error('the key is encrypted with a passphrase, which the server cannot type; keep an unencrypted copy readable only by the Stint server (ssh-keygen -p -N "" -f KEY)');
  }
  if (r.u32() !== 1) throw new Error('the file holds more than one key; give it exactly one');
  r.string(); // public key (the private section repeats it)
  const p = new SshReader(r.string());
  if (p.u32() !== p.u32()) throw new Error('the private section is damaged (check bytes differ)');
  const type = p.text();
  if (type === 'ssh-ed25519') {
    const pk = p.string();
    const sk = p.string();
    if (pk.length !== 32 || sk.length !== 64 || !sk.subarray(32).equals(pk)) throw new Error('the ed25519 key is damaged');
    return { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(pk), d: toBase64Url(sk.subarray(0, 32)) };
  }
  if (type === 'ssh-rsa') {
    const n = p.mpint();
    const e = p.mpint();
    const d = p.mpint();
    const iqmp = p.mpint();
    const pp = p.mpint();
    const q = p.mpint();
    return {
      kty: 'RSA',
      n: bigintToBase64Url(n),
      e: bigintToBase64Url(e),
      d: bigintToBase64Url(d),
      p: bigintToBase64Url(pp),
      q: bigintToBase64Url(q),
      dp: bigintToBase64Url(d % (pp - 1n)),
      dq: bigintToBase64Url(d % (q - 1n)),
      qi: bigintToBase64Url(iqmp),
    };
  }
  throw new Error(`${type} CA keys are not supported; use ssh-ed25519 or ssh-rsa`);
}

/**
 * Loads the CA private key: OpenSSH format (what ssh-keygen writes) or PKCS#8/PKCS#1 PEM,
 * Ed25519 or RSA of 2048 bits or more (a weak CA key forges access for everyone). A test
 * signature is made and checked here, so a damaged key stops the server at boot rather than
 * failing the first grant.
 */
export function loadCertificateAuthority(privateKeyText: string): CertificateAuthority {
  if (!privateKeyText.includes('-----BEGIN')) {
    throw new Error('expected a private key file ("-----BEGIN OPENSSH PRIVATE KEY-----"); is this the .pub file?');
  }
  let keyObject: KeyObject;
  try {
    keyObject = privateKeyText.includes('-----BEGIN OPENSSH PRIVATE KEY-----')
      ? createPrivateKey({ key: jwkFromOpenSshPrivateKey(privateKeyText), format: 'jwk' })
      : createPrivateKey(privateKeyText);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`not a usable SSH CA private key (${reason.replace(/^error:[^:]*:/i, '').slice(0, 200)})`);
  }
  const publicJwk = createPublicKey(keyObject).export({ format: 'jwk' });
  let key: SshPublicKey;
  let algorithm: string;
  let hash: string | null;
  if (keyObject.asymmetricKeyType === 'ed25519') {
    key = publicKeyFromParts('ssh-ed25519', { ed25519: Buffer.from(publicJwk.x ?? '', 'base64url') });
    algorithm = 'ssh-ed25519';
    hash = null;
  } else if (keyObject.asymmetricKeyType === 'rsa') {
    key = publicKeyFromParts('ssh-rsa', { e: bigintFromBase64Url(publicJwk.e), n: bigintFromBase64Url(publicJwk.n) });
    if (key.bits < RSA_MIN_BITS) throw new Error(`the RSA CA key has ${key.bits} bits; use at least ${RSA_MIN_BITS} (or ssh-ed25519)`);
    // rsa-sha2-512 (RFC 8332): OpenSSH no longer accepts SHA-1 "ssh-rsa" CA signatures.
    algorithm = 'rsa-sha2-512';
    hash = 'sha512';
  } else {
    throw new Error(`${keyObject.asymmetricKeyType ?? 'this'} CA keys are not supported; use ssh-ed25519 or ssh-rsa`);
  }
  const signRaw = (data: Buffer) => sign(hash, data, keyObject);
  const probe = randomBytes(32);
  if (!verify(hash, probe, createPublicKey(keyObject), signRaw(probe))) throw new Error('the CA key fails a signing self-test; it is damaged');
  return {
    key,
    sign: (data) => new SshWriter().string(algorithm).string(signRaw(data)).toBuffer(),
  };
}

// ---------------------------------------------------------------------------------------
// Certificates

const SSH_CERT_TYPE_USER = 1;

export interface CertificateSpec {
  key: SshPublicKey;
  serial: bigint;
  keyId: string;
  principals: readonly string[];
  /** Seconds since the epoch. */
  validAfter: number;
  validBefore: number;
  /** name -> value; each value is carried as an SSH string inside the option data. */
  criticalOptions: Readonly<Record<string, string>>;
  /** Flag extensions (empty data), e.g. permit-pty. */
  extensions: readonly string[];
}

/** OpenSSH requires options and extensions in lexical order, each name once. */
function encodeOptions(entries: readonly [string, Buffer][]): Buffer {
  const w = new SshWriter();
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [i, [name, data]] of sorted.entries()) {
    if (i > 0 && sorted[i - 1]![0] === name) throw new Error(`duplicate certificate option ${name}`);
    w.string(name).string(data);
  }
  return w.toBuffer();
}

/** Encodes and signs a user certificate; returns its authorized_keys-style line. */
export function signCertificate(spec: CertificateSpec, ca: CertificateAuthority): string {
  if (spec.principals.length === 0) {
    // An empty principal list means "any user" to sshd: never issue one.
    throw new Error('a certificate needs at least one principal');
  }
  if (spec.serial === 0n) throw new Error('serial 0 cannot be revoked by a KRL; use another');
  const certType = `${spec.key.type}-cert-v01@openssh.com`;
  const principals = new SshWriter();
  for (const p of spec.principals) principals.string(p);
  // The signed part: every field of PROTOCOL.certkeys up to and including the signature key.
  const tbs = new SshWriter()
    .string(certType)
    .string(randomBytes(32)) // nonce: makes a chosen-prefix collision against the CA impractical
    .raw(spec.key.certParts)
    .u64(spec.serial)
    .u32(SSH_CERT_TYPE_USER)
    .string(spec.keyId)
    .string(principals.toBuffer())
    .u64(BigInt(spec.validAfter))
    .u64(BigInt(spec.validBefore))
    .string(encodeOptions(Object.entries(spec.criticalOptions).map(([name, value]) => [name, new SshWriter().string(value).toBuffer()])))
    .string(encodeOptions(spec.extensions.map((name) => [name, Buffer.alloc(0)])))
    .string(Buffer.alloc(0)) // reserved
    .string(ca.key.blob)
    .toBuffer();
  const cert = Buffer.concat([tbs, new SshWriter().string(ca.sign(tbs)).toBuffer()]);
  return `${certType} ${cert.toString('base64')}`;
}

/** A random serial in 1..2^64-1: distinct per certificate, so a KRL entry revokes exactly one. */
export function randomSerial(): bigint {
  for (;;) {
    const serial = randomBytes(8).readBigUInt64BE();
    if (serial !== 0n) return serial;
  }
}

// ---------------------------------------------------------------------------------------
// Principals

const PLACEHOLDERS = ['user', 'email_local', 'sub'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/**
 * Forbidden in a principal: whitespace and control characters, and the characters that
 * authorized_keys `principals="..."` lists and AuthorizedPrincipalsFile lines treat as syntax
 * (comma, quotes, backslash) — a principal containing them could match names it should not.
 */
const PRINCIPAL_FORBIDDEN = /[\s,"'\\]|\p{Cc}/u;

/**
 * A login name sshd can match exactly: letters, digits, `.`, `_` and `-`, not starting with
 * `.` or `-`, at most 32 characters (Linux's limit). Case is kept: `ALICE` and `alice` are two
 * accounts.
 */
const LOGIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}$/;

/**
 * Why a name cannot be a principal as it is, or null. Threat: rewriting one person's name
 * into another's account. Lower-casing `ALICE`, dropping the `!` of `root!` or cutting a long
 * name to 32 characters each yields a name that may belong to someone else, and a certificate
 * for it would log in as them; so a name that does not fit is refused, never rewritten.
 */
export function loginNameProblem(name: string): string | null {
  if (LOGIN_NAME.test(name)) return null;
  const shown = JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name).replace(/\p{Cc}/gu, '?');
  const why = name.length > 32 ? 'is longer than 32 characters' : 'holds characters other than letters, digits, ".", "_" and "-" (or starts with "." or "-")';
  return `your login name ${shown} ${why}, so it cannot be an SSH principal as it is; Stint does not rewrite it, because the rewritten name could be another person's account. Ask your Stint admin to map your account to a usable login name`;
}

const PrincipalTemplate = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    for (const match of template.matchAll(/\{([^}]*)\}/g)) {
      if (!(PLACEHOLDERS as readonly string[]).includes(match[1]!)) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder {${match[1]}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})` });
      }
    }
    if (PRINCIPAL_FORBIDDEN.test(template.replace(/\{[^}]*\}/g, ''))) {
      ctx.addIssue({ code: 'custom', message: 'a principal may not contain spaces, control characters, commas, quotes or backslashes' });
    }
  });

/**
 * Renders principal templates for a user. A template whose placeholder has no value (no
 * email) is skipped rather than rendered with a hole: an "admin-{email_local}" must never
 * become "admin-". `{user}` and `{email_local}` are used exactly as they are, or the user is
 * refused (loginNameProblem says why).
 */
export function renderPrincipals(templates: readonly string[], user: { sub: string; login: string; email: string | null }): string[] {
  const at = user.email?.lastIndexOf('@') ?? -1;
  const values: Record<Placeholder, string> = {
    user: user.login,
    email_local: user.email && at > 0 ? user.email.slice(0, at) : '',
    sub: user.sub,
  };
  const out: string[] = [];
  for (const template of templates) {
    let missing = false;
    const rendered = template.replace(/\{([a-z_]+)\}/g, (_m, name: Placeholder) => {
      const value = values[name];
      if (!value) missing = true;
      else if (name !== 'sub') {
        const problem = loginNameProblem(value);
        if (problem) throw new ProviderRefusal(problem);
      }
      return value;
    });
    if (missing) continue;
    if (PRINCIPAL_FORBIDDEN.test(rendered)) {
      throw new Error(`the principal template "${template}" gives "${rendered.replace(/\p{Cc}/gu, '?')}" for this user, which has characters a principal may not contain; use {user} instead of {sub}`);
    }
    if (!out.includes(rendered)) out.push(rendered);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Settings

/** Extensions sshd knows; a misspelt one would silently grant nothing, so names are checked. */
const KNOWN_EXTENSIONS = ['permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc'] as const;

/**
 * Only a terminal by default. Agent forwarding lets anyone with root on the host use the
 * grantee's keys elsewhere for as long as they are connected; port forwarding turns the host
 * into a pivot into its network; user-rc lets a session plant a script that runs at every
 * later login. Each widens the grant beyond "a shell on this host", so a system opts in.
 */
export const DEFAULT_EXTENSIONS = ['permit-pty'];

function ipBytes(address: string): Buffer | null {
  const family = isIP(address);
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  if (family !== 6 || address.includes('%')) return null;
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Why a source-address entry is wrong, or null. sshd itself refuses host bits past the mask. */
export function cidrProblem(entry: string): string | null {
  const [address = '', prefixText, extra] = entry.split('/');
  if (extra !== undefined) return `"${entry}" is not an address or CIDR block`;
  const bytes = ipBytes(address);
  if (!bytes) return `"${entry}" is not an IPv4 or IPv6 address or CIDR block`;
  const width = bytes.length * 8;
  if (prefixText === undefined) return null;
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) return `"${entry}" has a prefix length outside 0-${width}`;
  const prefix = Number(prefixText);
  for (let bit = prefix; bit < width; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return `"${entry}" has bits set past its /${prefix} mask (sshd refuses it); write the network address`;
  }
  return null;
}

export const SshSettings = z.strictObject({
  /** The CA private key (OpenSSH or PEM format, Ed25519 or RSA >= 2048) from an env var or file. */
  caKey: SecretRef,
  /** Principals to certify; {user}, {email_local} and {sub} stand for the grantee. */
  principals: z.array(PrincipalTemplate).min(1, 'give at least one principal (e.g. "{user}")'),
  extensions: z
    .array(z.string().refine((name) => (KNOWN_EXTENSIONS as readonly string[]).includes(name) || /^[a-z0-9-]+@[a-z0-9.-]+$/i.test(name), {
      message: `unknown extension (known: ${KNOWN_EXTENSIONS.join(', ')}, or a name@domain vendor extension)`,
    }))
    .refine((names) => new Set(names).size === names.length, 'an extension is listed twice')
    .default(DEFAULT_EXTENSIONS),
  /** Critical option source-address: the certificate works only from these networks. */
  sourceAddress: z
    .array(z.string().superRefine((entry, ctx) => {
      const problem = cidrProblem(entry);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }))
    .min(1, 'leave sourceAddress out rather than giving an empty list')
    .optional(),
  /** What clients connect to; goes into STINT_SSH_HOST, so no shell metacharacters. */
  host: z.string({ error: 'give the SSH server clients connect to (a host name or address)' }).regex(/^[A-Za-z0-9._:[\]-]+$/, 'a host name or IP address'),
  port: z.number().int().min(1).max(65_535).default(22),
  /** The account to log in as; defaults to the first principal. */
  loginUser: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'a login name: letters, digits, ".", "_", "-", at most 32').optional(),
  /** How far before the grant starts the certificate is already valid, for hosts whose clock runs behind. */
  clockSkewSeconds: z.number().int().min(0).max(3600).default(60),
});
export type SshSettings = z.output<typeof SshSettings>;

export function parseSshSettings(settings: unknown): SshSettings {
  const parsed = SshSettings.safeParse(settings);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(settings)'}: ${i.message}`).join('; '));
  return parsed.data;
}

// The CA public key of each configured ssh system, for KRL sections of grants whose state
// predates caPublicKey. Keyed by the config object, so a reload simply starts afresh.
const caBySystem = new WeakMap<SystemConfig, SshPublicKey>();

/** The CA public key an ssh system signs with (loads its private key once per config object). */
export function configuredCaPublicKey(system: SystemConfig): SshPublicKey {
  const cached = caBySystem.get(system);
  if (cached) return cached;
  const settings = parseSshSettings(system.provider.settings);
  return loadCa(system, settings).key;
}

function loadCa(system: SystemConfig, settings: SshSettings): CertificateAuthority {
  const pem = readSecret(settings.caKey, 'caKey');
  let ca: CertificateAuthority;
  try {
    ca = loadCertificateAuthority(pem);
  } catch (error) {
    throw new Error(`caKey: ${(error as Error).message}`);
  }
  caBySystem.set(system, ca.key);
  return ca;
}

// ---------------------------------------------------------------------------------------
// The provider

/** What a grant keeps for the KRL and for extensions: public material only. */
export interface SshGrantState {
  /** The current certificate's serial (decimal: it does not fit a JSON number). */
  serial: string;
  /** Every serial issued for this grant, so ending it revokes them all. */
  serials: string[];
  keyId: string;
  /** The certified public key, so an extension (which carries none) re-certifies the same key. */
  publicKey: string;
  /** The CA that signed them ("ssh-ed25519 AAAA..."): the KRL names it even after a CA rotation. */
  caPublicKey: string;
}

export function readSshState(state: Record<string, unknown>): Partial<SshGrantState> {
  const out: Partial<SshGrantState> = {};
  if (typeof state.serial === 'string') out.serial = state.serial;
  if (Array.isArray(state.serials)) out.serials = state.serials.filter((s): s is string => typeof s === 'string');
  if (typeof state.keyId === 'string') out.keyId = state.keyId;
  if (typeof state.publicKey === 'string') out.publicKey = state.publicKey;
  if (typeof state.caPublicKey === 'string') out.caPublicKey = state.caPublicKey;
  return out;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * Signs the grantee's own public key into an OpenSSH user certificate valid for the grant
 * window; the private key never leaves the grantee's machine, so the credential holds no
 * secret. Early ends are enforced by sshd's RevokedKeys file, built from the database by
 * ssh-krl.ts; the certificate's own validity enforces the deadline even where no KRL is used.
 */
export const sshProvider: ProviderFactory = (system) => {
  const settings = parseSshSettings(system.provider.settings);
  const ca = loadCa(system, settings);

  const mint = (input: IssueInput, publicKeyText: string | null, previous: readonly string[]): IssuedCredential => {
    if (!publicKeyText) throw new Error('this system certifies an SSH public key, and the request carries none');
    const key = parsePublicKey(publicKeyText);
    const principals = renderPrincipals(settings.principals, input.user);
    if (principals.length === 0) {
      throw new Error(`no principal could be made for ${input.user.sub} from ${settings.principals.join(', ')} (is the email missing?)`);
    }
    // Whole seconds, rounded so the certificate never outlives the grant.
    const validAfter = Math.max(0, Math.floor(input.startsAt / 1000) - settings.clockSkewSeconds);
    const validBefore = Math.floor(input.expiresAt / 1000);
    if (validBefore <= validAfter) throw new Error('the grant window is empty');
    const serial = randomSerial();
    // Names the request and the user in sshd's log line ("ID stint:... (serial N)").
    const keyId = `stint:${input.requestId}:${encodeURIComponent(input.user.sub)}`;
    const certificate = signCertificate(
      {
        key,
        serial,
        keyId,
        principals,
        validAfter,
        validBefore,
        criticalOptions: settings.sourceAddress ? { 'source-address': settings.sourceAddress.join(',') } : {},
        extensions: settings.extensions,
      },
      ca,
    );
    const user = settings.loginUser ?? principals[0]!;
    const state: SshGrantState = {
      serial: serial.toString(),
      serials: [...previous, serial.toString()],
      keyId,
      publicKey: key.line,
      caPublicKey: ca.key.line,
    };
    return {
      fields: {
        certificate,
        principals: principals.join(','),
        host: settings.host,
        port: String(settings.port),
        user,
        serial: serial.toString(),
        keyId,
        validAfter: iso(validAfter),
        validBefore: iso(validBefore),
      },
      env: { STINT_SSH_HOST: settings.host, STINT_SSH_PORT: String(settings.port), STINT_SSH_USER: user },
      state: { ...state },
    };
  };

  // validatePublicKey and checkUser let request intake refuse at once (before anything is
  // stored or anyone approves) what would fail the grant after approval.
  const provider: Provider & { validatePublicKey(text: string): string | null } = {
    type: 'ssh',
    needsPublicKey: true,
    validatePublicKey,
    checkUser(user) {
      try {
        renderPrincipals(settings.principals, user);
        return null;
      } catch (error) {
        return (error as Error).message;
      }
    },
    async issue(input) {
      // Everything mint can fail on (no key, no principal, an empty window) is decided here
      // and now: a refusal, which no retry changes.
      try {
        return mint(input, input.publicKey, []);
      } catch (error) {
        throw error instanceof ProviderRefusal ? error : new ProviderRefusal((error as Error).message);
      }
    },
    async extend(input) {
      // A fresh certificate with the new deadline; the old one keeps its earlier end and is
      // still listed in serials, so an early end revokes both.
      const previous = readSshState(input.state);
      return mint(input, previous.publicKey ?? input.publicKey, previous.serials ?? []);
    },
    async revoke() {
      // Nothing to call: the revocation list is derived from the grants table (ended early and
      // not yet expired), so every replica serves the same list and it survives restarts.
    },
  };
  return provider;
};

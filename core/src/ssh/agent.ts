import { SshReader, SshWriter } from '@stint/node-shared/ssh-wire';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import net from 'node:net';

/** An ssh-agent that holds a grant's key and certificate for exactly the grant's remaining time. */
export interface SshAgent {
  add(grantId: string, privateKey: string, certificate: string, lifetimeSeconds: number): Promise<void>;
  /** true when the agent had the key and removed it. */
  remove(grantId: string): Promise<boolean>;
}

// The ssh-agent protocol (draft-miller-ssh-agent), spoken over the agent's socket rather than
// through `ssh-add`: ssh-add only loads keys from files, and a private key written to disk
// outlives the grant (backups, undeleted temp files, a crash between write and unlink).

const SSH_AGENT_FAILURE = 5;
const SSH_AGENT_SUCCESS = 6;
const SSH2_AGENTC_REQUEST_IDENTITIES = 11;
const SSH2_AGENT_IDENTITIES_ANSWER = 12;
const SSH2_AGENTC_REMOVE_IDENTITY = 18;
const SSH2_AGENTC_ADD_ID_CONSTRAINED = 25;
const SSH_AGENT_CONSTRAIN_LIFETIME = 1;
// Legacy failure codes that OpenSSH's own client (authfd.c) still reads as "failure".
const SSH2_AGENT_FAILURE = 30;
const SSH_COM_AGENT2_FAILURE = 102;
const FAILURES = new Set([SSH_AGENT_FAILURE, SSH2_AGENT_FAILURE, SSH_COM_AGENT2_FAILURE]);

const TIMEOUT_MS = 2000;
/** OpenSSH's AGENT_MAX_LEN: a longer length prefix means we are not talking to an agent. */
const MAX_MESSAGE_BYTES = 256 * 1024;

const CERT_TYPE = 'ssh-ed25519-cert-v01@openssh.com';
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
/** PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), so node:crypto can derive its public key. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class SshAgentError extends Error {
  override name = 'SshAgentError';
}

/** The comment the agent lists beside a grant's key; also how remove finds keys it did not add. */
const commentFor = (grantId: string) => `stint:${grantId}`;

// ---------------------------------------------------------------------------------------
// The grant's key and certificate

interface Ed25519Secret {
  /** ENC(A), 32 bytes. */
  publicKey: Buffer;
  /** k || ENC(A), 64 bytes, as the agent protocol and the key file both carry it. */
  secret: Buffer;
  /** The decoded file, which `secret` points into; zero it when done. */
  storage: Buffer;
}

/** The one key in an unencrypted openssh-key-v1 file (what keys.ts writes), which must be Ed25519. */
function readEd25519PrivateKey(text: string): Ed25519Secret {
  const match = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (!match) throw new SshAgentError('the grant\'s private key is not OpenSSH private key text ("-----BEGIN OPENSSH PRIVATE KEY-----")');
  const storage = Buffer.from(match[1]!.replace(/\s+/g, ''), 'base64');
  try {
    if (!storage.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) throw new Error('not an openssh-key-v1 key');
    const r = new SshReader(storage.subarray(OPENSSH_MAGIC.length));
    if (r.text() !== 'none') throw new Error('it is encrypted with a passphrase');
    r.string(); // kdf name
    r.string(); // kdf options
    if (r.u32() !== 1) throw new Error('the file holds more than one key');
    r.string(); // public key (repeated in the private section)
    const p = new SshReader(r.string());
    if (p.u32() !== p.u32()) throw new Error('the check bytes differ');
    const type = p.text();
    if (type !== 'ssh-ed25519') throw new Error(`it is a ${type} key, not ssh-ed25519`);
    const publicKey = p.string();
    const secret = p.string();
    if (publicKey.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(publicKey)) throw new Error('the ed25519 key is damaged');
    // The file repeats the public half beside the seed; OpenSSH's agent trusts that copy, so a
    // damaged seed would surface later as a refused login with no hint why. Check it here.
    const der = Buffer.concat([ED25519_PKCS8_PREFIX, secret.subarray(0, 32)]);
    let derived: Buffer;
    try {
      derived = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
    } finally {
      der.fill(0);
    }
    if (!derived.subarray(-32).equals(publicKey)) throw new Error('its seed does not match its public key');
    return { publicKey, secret, storage };
  } catch (error) {
    storage.fill(0);
    throw new SshAgentError(`the grant's private key cannot be loaded: ${(error as Error).message}`);
  }
}

interface Ed25519Certificate {
  /** The certificate's wire blob: what the agent stores and lists, and what remove names. */
  blob: Buffer;
  /** The certified key's ENC(A). */
  publicKey: Buffer;
}

/** "ssh-ed25519-cert-v01@openssh.com AAAA... [comment]", as the server's ssh provider issues it. */
function readEd25519Certificate(line: string): Ed25519Certificate {
  const [type = '', data = ''] = line.trim().split(/[ \t]+/);
  if (type !== CERT_TYPE) throw new SshAgentError(`the grant's certificate is not an ${CERT_TYPE} line (got "${type.slice(0, 60)}")`);
  const blob = Buffer.from(data, 'base64');
  try {
    const r = new SshReader(blob);
    if (r.text() !== CERT_TYPE) throw new Error('its type does not match its line');
    r.string(); // nonce
    const publicKey = r.string();
    if (publicKey.length !== 32) throw new Error('its key is not 32 bytes');
    return { blob, publicKey };
  } catch (error) {
    throw new SshAgentError(`the grant's certificate is damaged: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------
// The agent

interface AgentReply {
  type: number;
  body: Buffer;
}

interface AgentIdentity {
  blob: Buffer;
  comment: string;
}

/**
 * Loads grant keys into the user's ssh-agent at a Unix socket (SSH_AUTH_SOCK). Every key goes
 * in with a lifetime constraint, so the agent drops it at the grant's deadline even if Stint
 * has crashed, and remove() takes it out at once when the grant ends early.
 */
export class OpenSshAgent implements SshAgent {
  /** Certificate blobs added per grant; an extended grant adds a second certificate. */
  private readonly added = new Map<string, Buffer[]>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly socketPath: string) {}

  async add(grantId: string, privateKey: string, certificate: string, lifetimeSeconds: number): Promise<void> {
    // A key added without a lifetime (or with 0, which some agents read as "forever") would
    // outlive the grant, so there is no fallback to an unconstrained add.
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1 || lifetimeSeconds > 0xffff_ffff) {
      throw new RangeError(`lifetimeSeconds must be a whole number of seconds from 1 to 2^32-1, not ${lifetimeSeconds}`);
    }
    const cert = readEd25519Certificate(certificate);
    const key = readEd25519PrivateKey(privateKey);
    let message: Buffer;
    try {
      if (!cert.publicKey.equals(key.publicKey)) throw new SshAgentError(`the certificate for grant ${grantId} certifies a different key than the grant's private key`);
      message = new SshWriter()
        .string(CERT_TYPE)
        .string(cert.blob)
        .string(key.publicKey)
        .string(key.secret)
        .string(commentFor(grantId))
        .u8(SSH_AGENT_CONSTRAIN_LIFETIME)
        .u32(lifetimeSeconds)
        .toBuffer();
    } finally {
      // Best effort: the key text itself is a JS string we cannot wipe, but our copies go.
      key.storage.fill(0);
    }
    try {
      await this.serialized(async () => {
        const reply = await this.exchange(SSH2_AGENTC_ADD_ID_CONSTRAINED, message);
        if (FAILURES.has(reply.type)) {
          throw new SshAgentError(
            `ssh-agent at ${this.socketPath} refused the key for grant ${grantId}; it may not accept certificates or lifetime limits (Stint only adds keys with a lifetime)`,
          );
        }
        if (reply.type !== SSH_AGENT_SUCCESS) throw this.unexpected(reply);
        const blobs = this.added.get(grantId) ?? [];
        if (!blobs.some((b) => b.equals(cert.blob))) blobs.push(cert.blob);
        this.added.set(grantId, blobs);
      });
    } finally {
      message.fill(0);
    }
  }

  async remove(grantId: string): Promise<boolean> {
    return this.serialized(async () => {
      // Also by comment, not only from memory: a restarted Stint forgot what it added, and an
      // extended grant may hold a certificate added before the restart. Left behind, such a
      // key would stay usable after an early end until its lifetime ran out.
      const comment = commentFor(grantId);
      const blobs = [...(this.added.get(grantId) ?? [])];
      for (const identity of await this.listIdentities()) {
        if (identity.comment === comment && !blobs.some((b) => b.equals(identity.blob))) blobs.push(identity.blob);
      }
      let removed = false;
      for (const blob of blobs) {
        const reply = await this.exchange(SSH2_AGENTC_REMOVE_IDENTITY, new SshWriter().string(blob).toBuffer());
        if (reply.type === SSH_AGENT_SUCCESS) removed = true;
        else if (!FAILURES.has(reply.type)) throw this.unexpected(reply);
      }
      this.added.delete(grantId);
      return removed;
    });
  }

  private async listIdentities(): Promise<AgentIdentity[]> {
    const reply = await this.exchange(SSH2_AGENTC_REQUEST_IDENTITIES, Buffer.alloc(0));
    if (reply.type !== SSH2_AGENT_IDENTITIES_ANSWER) throw this.unexpected(reply);
    try {
      const r = new SshReader(reply.body);
      const count = r.u32();
      const identities: AgentIdentity[] = [];
      for (let i = 0; i < count; i++) identities.push({ blob: Buffer.from(r.string()), comment: r.text() });
      if (!r.atEnd) throw new Error('trailing data');
      return identities;
    } catch (error) {
      throw new SshAgentError(`ssh-agent at ${this.socketPath} sent a damaged identity list (${(error as Error).message})`);
    }
  }

  /**
   * One operation at a time, in call order: a remove() for an early end must reach the agent
   * after an add() still in flight, or the key would be added back and stay usable.
   */
  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** One request and its reply on a fresh connection, as ssh-add does; 2 s for all of it. */
  private exchange(type: number, payload: Buffer): Promise<AgentReply> {
    const header = new SshWriter().u32(payload.length + 1).u8(type).toBuffer();
    const where = `ssh-agent at ${this.socketPath}`;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath);
      const chunks: Buffer[] = [];
      let received = 0;
      let length: number | null = null;
      let settled = false;
      const finish = (error: Error | null, reply?: AgentReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (error) reject(error);
        else resolve(reply!);
      };
      const timer = setTimeout(() => finish(new SshAgentError(`${where} did not answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
      socket.on('connect', () => {
        socket.write(header);
        socket.write(payload);
      });
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (length === null) {
          if (received < 4) return;
          length = Buffer.concat(chunks).readUInt32BE(0);
          if (length < 1 || length > MAX_MESSAGE_BYTES) {
            finish(new SshAgentError(`${where} sent a ${length}-byte message; is SSH_AUTH_SOCK an ssh-agent?`));
            return;
          }
        }
        if (received < 4 + length) return;
        if (received > 4 + length) {
          finish(new SshAgentError(`${where} sent more than one reply to one request`));
          return;
        }
        const data = Buffer.concat(chunks);
        finish(null, { type: data[4]!, body: data.subarray(5) });
      });
      socket.on('error', (error: NodeJS.ErrnoException) => finish(new SshAgentError(describeSocketError(where, error))));
      socket.on('close', () => finish(new SshAgentError(`${where} closed the connection without answering`)));
    });
  }

  private unexpected(reply: AgentReply): SshAgentError {
    return new SshAgentError(`ssh-agent at ${this.socketPath} answered with unexpected message type ${reply.type}`);
  }
}

function describeSocketError(where: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return `${where} is not running (no such socket; SSH_AUTH_SOCK may be stale)`;
    case 'ECONNREFUSED':
      return `${where} is not running (connection refused; SSH_AUTH_SOCK may be stale)`;
    case 'EACCES':
      return `${where} may not be opened by this user (permission denied)`;
    default:
      return `${where} could not be reached: ${error.message}`;
  }
}

/** The user's agent from SSH_AUTH_SOCK; null when none is running (keys then stay out of any agent). */
export function sshAgentFromEnv(env: NodeJS.ProcessEnv = process.env): SshAgent | null {
  const socketPath = env.SSH_AUTH_SOCK;
  return socketPath ? new OpenSshAgent(socketPath) : null;
}

// OpenSshAgent against a real OpenSSH ssh-agent (and a real sshd for logins), plus fake agents
// on a Unix socket for the replies a real one will not give on demand.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, startSshd, type RunningSshd } from '../../../test-support/sshd';
import { OpenSshAgent, SshAgentError, sshAgentFromEnv } from './agent';
import { generateSshKeyPair, type SshKeyPair } from './keys';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string;
let caKey: string;
let agentProcess: ChildProcess;
let socketPath: string;

// ssh-agent -D stays in the foreground as our child, but vitest ends forks with SIGKILL,
// which would orphan it; as in test-support/sshd.ts a watchdog ends it once we are gone.
const WATCHDOG = `
owner=$1; agent=$2; dir=$3
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
kill "$agent" 2>/dev/null
rm -rf "$dir"
`;

async function startSshAgent(socket: string): Promise<ChildProcess> {
  const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  spawn('sh', ['-c', WATCHDOG, 'stint-agent-watchdog', String(process.pid), String(child.pid), dir], { detached: true, stdio: 'ignore' }).unref();
  // With -D the agent prints its environment lines once the socket is bound.
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`ssh-agent did not start: ${output}`)), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('SSH_AUTH_SOCK=')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ssh-agent exited (${code}): ${output}`));
    });
  });
  return child;
}

/** What `ssh-add` sees in the agent; "" when it holds nothing (ssh-add then exits 1). */
async function sshAdd(flag: '-l' | '-L'): Promise<string> {
  try {
    return (await execFileAsync('ssh-add', [flag], { env: { ...process.env, SSH_AUTH_SOCK: socketPath } })).stdout;
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    if (e.code === 1 && /no identities/i.test(String(e.stdout) + String((error as { stderr?: string }).stderr))) return '';
    throw error;
  }
}

/** A fresh key pair as core makes it, certified by the test CA (the cert file is test-only). */
async function certifiedKey(principal = 'alice', validity = '+5m'): Promise<SshKeyPair & { certificate: string; fingerprint: string }> {
  const pair = generateSshKeyPair('stint:test');
  const base = path.join(dir, `user-${randomUUID()}`);
  await writeFile(`${base}.pub`, `${pair.publicKey}\n`);
  await execFileAsync('ssh-keygen', ['-q', '-s', caKey, '-I', 'stint-agent-test', '-n', principal, '-V', validity, `${base}.pub`]);
  const certificate = (await readFile(`${base}-cert.pub`, 'utf8')).trim();
  const fingerprint = (await execFileAsync('ssh-keygen', ['-l', '-f', `${base}.pub`])).stdout.split(' ')[1]!;
  return { ...pair, certificate, fingerprint };
}

const certBlob = (certificate: string) => certificate.split(' ').slice(0, 2).join(' ');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'stint-agent-'));
  caKey = await generateKeyPair(dir, 'ca');
  socketPath = path.join(dir, 'agent.sock');
  agentProcess = await startSshAgent(socketPath);
});

afterAll(async () => {
  agentProcess?.kill();
  await rm(dir, { recursive: true, force: true });
});

describe('sshAgentFromEnv', () => {
  it('is null without SSH_AUTH_SOCK, so keys stay out of any agent', () => {
    expect(sshAgentFromEnv({})).toBeNull();
    expect(sshAgentFromEnv({ SSH_AUTH_SOCK: '' })).toBeNull();
  });

  it('talks to the agent at SSH_AUTH_SOCK', () => {
    const agent = sshAgentFromEnv({ SSH_AUTH_SOCK: socketPath });
    expect(agent).toBeInstanceOf(OpenSshAgent);
    expect((agent as OpenSshAgent).socketPath).toBe(socketPath);
  });
});

describe('OpenSshAgent with a real ssh-agent', () => {
  afterEach(async () => {
    await execFileAsync('ssh-add', ['-D'], { env: { ...process.env, SSH_AUTH_SOCK: socketPath } });
  });

  it('adds the certificate under the grant\'s comment, and removes it once', async () => {
    const agent = new OpenSshAgent(socketPath);
    const grantId = randomUUID();
    const key = await certifiedKey();
    await agent.add(grantId, key.privateKey, key.certificate, 300);

    const listed = await sshAdd('-l');
    expect(listed).toContain(key.fingerprint);
    expect(listed).toContain(`stint:${grantId} (ED25519-CERT)`);
    expect(await sshAdd('-L')).toContain(certBlob(key.certificate));

    expect(await agent.remove(grantId)).toBe(true);
    expect(await sshAdd('-l')).toBe('');
    expect(await agent.remove(grantId)).toBe(false);
  });

  it('lets the agent drop the key when the lifetime runs out', async () => {
    const agent = new OpenSshAgent(socketPath);
    const grantId = randomUUID();
    const key = await certifiedKey();
    await agent.add(grantId, key.privateKey, key.certificate, 2);
    expect(await sshAdd('-l')).toContain(`stint:${grantId}`);
    await sleep(3000);
    expect(await sshAdd('-l')).toBe('');
    expect(await agent.remove(grantId)).toBe(false);
  });

  it('removes only the grant\'s own key', async () => {
    const agent = new OpenSshAgent(socketPath);
    const [mine, other] = [randomUUID(), randomUUID()];
    const [a, b] = [await certifiedKey(), await certifiedKey()];
    await agent.add(mine, a.privateKey, a.certificate, 300);
    await agent.add(other, b.privateKey, b.certificate, 300);
    expect(await agent.remove(mine)).toBe(true);
    const listed = await sshAdd('-l');
    expect(listed).not.toContain(a.fingerprint);
    expect(listed).toContain(`${b.fingerprint} stint:${other}`);
  });

  it('finds a key by its comment after a restart forgot what was added', async () => {
    const grantId = randomUUID();
    const key = await certifiedKey();
    await new OpenSshAgent(socketPath).add(grantId, key.privateKey, key.certificate, 300);
    expect(await new OpenSshAgent(socketPath).remove(grantId)).toBe(true);
    expect(await sshAdd('-l')).toBe('');
  });

  it('removes both certificates of an extended grant', async () => {
    const agent = new OpenSshAgent(socketPath);
    const grantId = randomUUID();
    const key = await certifiedKey();
    // Extension: the same key, a second certificate from the server.
    const base = path.join(dir, `ext-${randomUUID()}`);
    await writeFile(`${base}.pub`, `${key.publicKey}\n`);
    await execFileAsync('ssh-keygen', ['-q', '-s', caKey, '-I', 'extended', '-n', 'alice', '-V', '+10m', `${base}.pub`]);
    const extended = (await readFile(`${base}-cert.pub`, 'utf8')).trim();

    await agent.add(grantId, key.privateKey, key.certificate, 300);
    await agent.add(grantId, key.privateKey, extended, 600);
    expect((await sshAdd('-L')).trim().split('\n')).toHaveLength(2);
    expect(await agent.remove(grantId)).toBe(true);
    expect(await sshAdd('-l')).toBe('');
  });

  it('refuses a certificate for another key, a key without lifetime and a damaged key, adding nothing', async () => {
    const agent = new OpenSshAgent(socketPath);
    const [a, b] = [await certifiedKey(), await certifiedKey()];
    await expect(agent.add(randomUUID(), a.privateKey, b.certificate, 300)).rejects.toThrow(/certifies a different key/);
    await expect(agent.add(randomUUID(), a.privateKey, a.certificate, 0)).rejects.toThrow(RangeError);
    await expect(agent.add(randomUUID(), a.privateKey, a.certificate, 1.5)).rejects.toThrow(RangeError);
    await expect(agent.add(randomUUID(), a.privateKey, a.publicKey, 300)).rejects.toThrow(/not an ssh-ed25519-cert-v01@openssh.com line/);
    await expect(agent.add(randomUUID(), 'not a key', a.certificate, 300)).rejects.toThrow(/not OpenSSH private key text/);
    // An encrypted key (ssh-keygen -N): the agent protocol needs the plain seed.
    const encrypted = path.join(dir, 'encrypted');
    await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'passphrase', '-f', encrypted]);
    await expect(agent.add(randomUUID(), await readFile(encrypted, 'utf8'), a.certificate, 300)).rejects.toThrow(/encrypted with a passphrase/);
    // A flipped bit in the seed: the file's public half no longer matches what it signs with.
    const raw = Buffer.from(a.privateKey.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const pk = Buffer.from(a.publicKey.split(' ')[1]!, 'base64').subarray(-32);
    raw[raw.lastIndexOf(pk) - 1]! ^= 1;
    const damaged = `-----BEGIN OPENSSH PRIVATE KEY-----\n${raw.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    await expect(agent.add(randomUUID(), damaged, a.certificate, 300)).rejects.toThrow(/seed does not match its public key/);
    expect(await sshAdd('-l')).toBe('');
  });
});

describe('logging in with only the agent', () => {
  let sshd: RunningSshd;

  beforeAll(async () => {
    sshd = await startSshd({ caPublicKey: await readFile(`${caKey}.pub`, 'utf8') });
  });
  afterAll(async () => sshd?.stop());

  /** No -i and no certificate file: the agent is the only source of identities. */
  const login = () =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const args = [
        '-F', '/dev/null',
        '-o', 'IdentitiesOnly=no',
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=5',
        '-o', 'LogLevel=ERROR',
        '-p', String(sshd.port),
        `${sshd.userName}@${sshd.host}`,
        'echo ok',
      ];
      execFile('ssh', args, { timeout: 15_000, env: { ...process.env, SSH_AUTH_SOCK: socketPath } }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });

  it('logs in after add and is refused after remove', async () => {
    const agent = new OpenSshAgent(socketPath);
    const grantId = randomUUID();
    const key = await certifiedKey(sshd.userName);

    expect((await login()).code).toBe(255);
    await agent.add(grantId, key.privateKey, key.certificate, 300);
    const ok = await login();
    expect(ok.stdout.trim(), ok.stderr).toBe('ok');
    expect(sshd.log()).toMatch(/ID stint-agent-test/);

    expect(await agent.remove(grantId)).toBe(true);
    const refused = await login();
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied/);
  });
});

describe('OpenSshAgent against misbehaving agents', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });

  /** A fake agent at a fresh socket; onRequest gets each connection's first whole message. */
  async function fakeAgent(onRequest: (socket: net.Socket, message: Buffer) => void): Promise<string> {
    const socket = path.join(dir, `fake-${randomUUID()}.sock`);
    const server = net.createServer((connection) => {
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 4 || received.length < 4 + received.readUInt32BE(0)) return;
        connection.off('data', onData);
        onRequest(connection, received);
      };
      connection.on('data', onData);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return socket;
  }

  const reply = (type: number, body = Buffer.alloc(0)) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(body.length + 1);
    header[4] = type;
    return Buffer.concat([header, body]);
  };

  it('says which agent did not answer, after 2 s', async () => {
    const agent = new OpenSshAgent(await fakeAgent(() => {}));
    const key = await certifiedKey();
    const started = Date.now();
    await expect(agent.add(randomUUID(), key.privateKey, key.certificate, 300)).rejects.toThrow(`ssh-agent at ${agent.socketPath} did not answer within 2 s`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('explains a refusal (SSH_AGENT_FAILURE), e.g. an agent without certificate support', async () => {
    const agent = new OpenSshAgent(await fakeAgent((s) => s.end(reply(5))));
    const key = await certifiedKey();
    const error = await agent.add(randomUUID(), key.privateKey, key.certificate, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshAgentError);
    expect((error as Error).message).toMatch(/refused the key .* lifetime limits/);
  });

  it('sends the add message the draft describes, with the lifetime constraint last', async () => {
    let request = Buffer.alloc(0);
    const agent = new OpenSshAgent(
      await fakeAgent((s, data) => {
        request = Buffer.from(data);
        s.end(reply(6));
      }),
    );
    const key = await certifiedKey();
    await agent.add('g-1', key.privateKey, key.certificate, 1234);
    expect(request.readUInt32BE(0)).toBe(request.length - 4);
    expect(request[4]).toBe(25);
    expect(request.subarray(-5)).toEqual(Buffer.from([1, 0, 0, 0x04, 0xd2]));
    const comment = Buffer.from('stint:g-1');
    expect(request.subarray(-5 - comment.length, -5)).toEqual(comment);
  });

  it('sends a remove issued during an add only after the add is answered, so the key cannot come back', async () => {
    const seen: string[] = [];
    const agent = new OpenSshAgent(
      await fakeAgent(async (s, message) => {
        const type = message[4]!;
        seen.push(`request ${type}`);
        if (type === 25) {
          await sleep(200); // a slow agent (or a confirm prompt) still holding the add
          seen.push('added');
          s.end(reply(6));
        } else if (type === 11) {
          s.end(reply(12, Buffer.alloc(4)));
        } else {
          s.end(reply(6));
        }
      }),
    );
    const grantId = randomUUID();
    const key = await certifiedKey();
    const [, removed] = await Promise.all([agent.add(grantId, key.privateKey, key.certificate, 300), agent.remove(grantId)]);
    expect(seen).toEqual(['request 25', 'added', 'request 11', 'request 18']);
    expect(removed).toBe(true);
  });

  it('reassembles a reply that arrives a byte at a time', async () => {
    const agent = new OpenSshAgent(
      await fakeAgent(async (s) => {
        for (const byte of reply(12, Buffer.alloc(4))) {
          s.write(Buffer.from([byte]));
          await sleep(5);
        }
      }),
    );
    expect(await agent.remove(randomUUID())).toBe(false);
  });

  it('refuses a reply too long to be from an ssh-agent', async () => {
    const agent = new OpenSshAgent(await fakeAgent((s) => s.end(Buffer.from([0x7f, 0, 0, 0, 12]))));
    await expect(agent.remove(randomUUID())).rejects.toThrow(/is SSH_AUTH_SOCK an ssh-agent\?/);
  });

  it('says when the agent hangs up without answering', async () => {
    const agent = new OpenSshAgent(await fakeAgent((s) => s.end()));
    await expect(agent.remove(randomUUID())).rejects.toThrow(/closed the connection without answering/);
  });

  it('says when nothing listens at SSH_AUTH_SOCK', async () => {
    const agent = new OpenSshAgent(path.join(dir, 'no-such-agent.sock'));
    await expect(agent.remove(randomUUID())).rejects.toThrow(/ssh-agent at .*no-such-agent.sock is not running/);
  });
});

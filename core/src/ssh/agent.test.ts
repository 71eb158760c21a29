// OpenSshAgent against a real OpenSSH ssh-agent (and a real sshd for logins); fake agents are
// in agent-misbehaving.test.ts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSshd, type RunningSshd } from '../../../test-support/sshd';
import { OpenSshAgent, sshAgentFromEnv } from './agent';
import { caKey, certBlob, certifiedKey, dir, execFileAsync, sleep, socketPath, sshAdd, sshTestBedForFile } from './agent.fixture';

sshTestBedForFile({ agent: true });


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

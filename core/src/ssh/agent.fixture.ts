// Test-only: a temp folder with a test SSH CA and, when asked, a real OpenSSH ssh-agent in it, plus what the agent tests read with.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { generateKeyPair } from '../../../test-support/sshd';
import { generateSshKeyPair, type SshKeyPair } from './keys';

export const execFileAsync = promisify(execFile);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Live bindings: set by sshTestBedForFile's beforeAll, read by the test file that called it
// (each test file gets its own copy of this module).
export let dir: string;
export let caKey: string;
export let socketPath: string;
let agentProcess: ChildProcess | undefined;

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

/** Registers the set-up and tear-down for the whole file; `agent: false` for tests that need only the folder and the CA. */
export function sshTestBedForFile({ agent }: { agent: boolean }): void {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'stint-agent-'));
    caKey = await generateKeyPair(dir, 'ca');
    socketPath = path.join(dir, 'agent.sock');
    if (agent) agentProcess = await startSshAgent(socketPath);
  });

  afterAll(async () => {
    agentProcess?.kill();
    await rm(dir, { recursive: true, force: true });
  });
}

/** What `ssh-add` sees in the agent; "" when it holds nothing (ssh-add then exits 1). */
export async function sshAdd(flag: '-l' | '-L'): Promise<string> {
  try {
    return (await execFileAsync('ssh-add', [flag], { env: { ...process.env, SSH_AUTH_SOCK: socketPath } })).stdout;
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    if (e.code === 1 && /no identities/i.test(String(e.stdout) + String((error as { stderr?: string }).stderr))) return '';
    throw error;
  }
}

/** A fresh key pair as core makes it, certified by the test CA (the cert file is test-only). */
export async function certifiedKey(principal = 'alice', validity = '+5m'): Promise<SshKeyPair & { certificate: string; fingerprint: string }> {
  const pair = generateSshKeyPair('stint:test');
  const base = path.join(dir, `user-${randomUUID()}`);
  await writeFile(`${base}.pub`, `${pair.publicKey}\n`);
  await execFileAsync('ssh-keygen', ['-q', '-s', caKey, '-I', 'stint-agent-test', '-n', principal, '-V', validity, `${base}.pub`]);
  const certificate = (await readFile(`${base}-cert.pub`, 'utf8')).trim();
  const fingerprint = (await execFileAsync('ssh-keygen', ['-l', '-f', `${base}.pub`])).stdout.split(' ')[1]!;
  return { ...pair, certificate, fingerprint };
}

export const certBlob = (certificate: string) => certificate.split(' ').slice(0, 2).join(' ');

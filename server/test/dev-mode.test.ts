import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

/** `npm start`'s server, as a newcomer gets it: a process with its own data folder and IdP. */
describe('dev mode (stint-server dev)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stint-devmode-'));
  let child: ReturnType<typeof spawn>;
  let dev: { serverUrl: string; issuer: string; clientId: string };

  beforeAll(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'dev', '--port', '0', '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STINT_LOG_LEVEL: 'warn', STINT_DATABASE_URL: '' },
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev server did not start: ${out}`)), 20_000);
      child.stdout!.on('data', () => {
        if (out.includes('Stint dev server is up')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    dev = JSON.parse(readFileSync(join(dataDir, 'dev.json'), 'utf8'));
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /healthz and its IdP answers discovery', async () => {
    expect((await fetch(`${dev.serverUrl}/healthz`)).status).toBe(200);
    const discovery = (await (await fetch(`${dev.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(dev.issuer);
    expect(dev.clientId).toBe('stint-desktop');
  });

  it('generates an SSH CA on first start and offers an SSH system signed by it', async () => {
    expect(readFileSync(join(dataDir, 'ssh-ca.pub'), 'utf8')).toMatch(/^ssh-ed25519 AAAA\S+ stint-dev-ca\n$/);
    const token = cli(['dev-token', 'alice', '--data-dir', dataDir]).stdout.trim();
    const systems = (await (await fetch(`${dev.serverUrl}/v1/systems`, { headers: { authorization: `Bearer ${token}` } })).json()) as { systems: { id: string; needsPublicKey: boolean; provider: string }[] };
    expect(systems.systems.find((s) => s.id === 'dev-ssh')).toMatchObject({ provider: 'ssh', needsPublicKey: true });
    expect(systems.systems.find((s) => s.id === 'prod-db')).toMatchObject({ provider: 'demo' });
    expect((await fetch(`${dev.serverUrl}/v1/ssh/krl`)).status).toBe(200);
  });

  it('keeps its credential key private and out of dev.json', () => {
    const keyFile = join(dataDir, 'credential.key');
    expect(existsSync(keyFile)).toBe(true);
    expect((readFileSync(keyFile).length)).toBeGreaterThan(40);
    expect(readFileSync(join(dataDir, 'dev.json'), 'utf8')).not.toContain(readFileSync(keyFile, 'utf8').trim());
  });

  it('prints a working dev token for a demo user, and refuses unknown users', async () => {
    const token = cli(['dev-token', 'bob', '--data-dir', dataDir]);
    expect(token.status).toBe(0);
    const me = await fetch(`${dev.serverUrl}/v1/me`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
    expect(await me.json()).toMatchObject({ sub: 'bob', groups: ['engineering', 'sre-leads'] });
    const unknown = cli(['dev-token', 'mallory', '--data-dir', dataDir]);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/mallory/);
  });

  it('refuses dev tokens where no dev server ran', () => {
    const empty = mkdtempSync(join(tmpdir(), 'stint-nodev-'));
    const result = cli(['dev-token', 'alice', '--data-dir', empty]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/dev tokens exist only in dev mode/);
  });
});

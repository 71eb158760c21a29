// The CLI's daily gaps, each as a person meets it: the version, withdrawing a request, extending
// a ticket-gated grant, a command that does not exist, hints that name every flag the policy
// needs, a typo, and a status that does not call a signed-out person "offline".
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { CoreState, SystemView } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAgent, type FakeAgent } from '../../test-support/fake-agent';
import { accessRequest, coreState } from '../../test-support/fixtures';

const mine = accessRequest({ id: '0195f0a0-1111-7000-8000-00003f2a9c1b', requester: { sub: 'alice', name: 'Alice', email: null }, reason: 'fix', ticket: 'INC-7' });
const prodDb: SystemView = {
  id: 'prod-db',
  name: 'Production database',
  description: '',
  risk: 'high',
  provider: 'postgres',
  durationPresetsSeconds: [900, 3600],
  maxDurationSeconds: 7200,
  needsPublicKey: false,
  policy: { approvalsRequired: 1, approverGroups: ['sre-leads'], autoApproveUpToSeconds: null, breakGlassAllowed: false, justification: 'required', ticketPattern: '^(OPS|INC)-[0-9]+$', pendingTtlSeconds: 1800 },
};
const grant = { grantId: '0195f0a0-9999-7000-8000-0000deadbeef', requestId: mine.id, systemId: 'staging-db', startsAt: '2026-12-02T10:00:00.000Z', expiresAt: new Date(Date.now() + 600_000).toISOString(), state: 'active' as const, envNames: ['STAGING_DB_TOKEN'], stored: true, inAgent: false };

let signedIn = true;
let grantEnv = ['STAGING_DB_TOKEN'];
const state = (): CoreState =>
  coreState({
    serverUrl: 'https://stint.example.com',
    auth: signedIn ? { status: 'signed-in', user: { sub: 'alice', name: 'Alice', email: null, groups: ['engineering'], isAdmin: false, isAuditor: false }, message: null } : { status: 'signed-out', user: null, message: null },
    connection: signedIn ? 'online' : 'offline',
    systems: [prodDb],
    myRequests: [mine],
    grants: [{ ...grant, systemId: grantEnv.includes('DATABASE_URL') ? 'prod-db' : grant.systemId, envNames: grantEnv }],
  });

describe('the CLI in a working day', () => {
  let agent: FakeAgent;
  beforeAll(async () => {
    agent = await startFakeAgent((method, input) => {
      if (method === 'getState') return state();
      if (method === 'cancel') return { ...mine, state: 'cancelled' };
      if (method === 'request') return { ...mine, id: grant.requestId, systemId: 'prod-db', state: 'active', grantId: grant.grantId };
      if (method === 'extend') return { ...mine, state: 'pending', extendsGrantId: grant.grantId };
      if (method === 'env') {
        const { systems } = input as { systems: string[] };
        return { grants: systems.includes('staging-db') ? [{ grantId: grant.grantId, systemId: 'staging-db', expiresAt: grant.expiresAt, env: { STAGING_DB_TOKEN: 't0ken' } }] : [] };
      }
      return { ok: true };
    });
  });
  afterAll(() => agent?.close());

  it('says its version, the one in its package', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const out = await agent.stint('--version');
    expect(out).toMatchObject({ status: 0, stdout: `${version}\n` });
  });

  it('withdraws a pending request of yours by its short id', async () => {
    const out = await agent.stint('cancel', '3f2a9c1b');
    expect(out).toMatchObject({ status: 0, stdout: 'Cancelled your request for prod-db.\n' });
    expect(agent.calls.at(-1)).toEqual({ method: 'cancel', input: { requestId: mine.id } });
    expect((await agent.stint('cancel', 'ffffffff')).status).toBe(3);
  });

  it('extends with a ticket when given one, and otherwise lets the grant keep its own', async () => {
    await agent.stint('extend', 'staging-db', '--for', '15m', '--ticket', 'INC-9');
    expect(agent.calls.at(-1)).toEqual({ method: 'extend', input: { grantId: grant.grantId, durationSeconds: 900, reason: '', ticket: 'INC-9' } });
    await agent.stint('extend', 'staging-db', '--for', '15m');
    expect(agent.calls.at(-1)).toEqual({ method: 'extend', input: { grantId: grant.grantId, durationSeconds: 900, reason: '' } });
  });

  it('says how to use a grant once it is active: the provider\'s client in a hooked shell, stint exec anywhere', async () => {
    grantEnv = ['PGHOST', 'PGPASSWORD', 'DATABASE_URL'];
    try {
      const out = await agent.stint('request', 'prod-db', '--for', '15m', '--reason', 'fix', '--ticket', 'INC-7');
      expect(out.status).toBe(0);
      expect(out.stdout).toBe('Granted: prod-db for 15m. Use it:\n  psql "$DATABASE_URL"   (in a shell with the Stint hook)\n  stint exec prod-db -- psql\n');
    } finally {
      grantEnv = ['STAGING_DB_TOKEN'];
    }
  });

  it('exits 127 when the command to run does not exist, as a shell does', async () => {
    const out = await agent.stint('exec', 'staging-db', '--', 'no-such-command-4a1f');
    expect(out.status).toBe(127);
    expect(out.stderr).toBe('stint: no-such-command-4a1f: command not found\n');
  });

  it('hints at a request with every flag the policy needs, the ticket included', async () => {
    const out = await agent.stint('exec', 'prod-db', '--', 'psql');
    expect(out.status).toBe(3);
    expect(out.stderr).toContain('stint request prod-db --for 15m --reason "..." --ticket <ticket> --wait');
  });

  it('answers a typo with a suggestion and one line, not the whole help', async () => {
    const out = await agent.stint('reqeusts');
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/Did you mean requests\?/);
    expect(out.stderr).toContain('`stint --help` lists every command');
    expect(out.stderr).not.toContain('Commands:');
  });

  it('does not call a signed-out person "offline"', async () => {
    signedIn = false;
    try {
      const out = await agent.stint('status');
      expect(out.stdout).toMatch(/^Not signed in to https:\/\/stint\.example\.com; run `stint login`\.$/m);
      expect(out.stdout).not.toContain('offline');
    } finally {
      signedIn = true;
    }
  });
});

describe('stint completion', () => {
  const cli = ['--import', 'tsx', new URL('../src/entry.ts', import.meta.url).pathname];
  const script = (shell: string) => spawnSync(process.execPath, [...cli, 'completion', shell], { encoding: 'utf8' }).stdout;

  it('completes commands and a command\'s options in bash', () => {
    const run = (words: string) =>
      spawnSync('bash', ['-c', `${script('bash')}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _stint; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).stdout.split('\n').filter(Boolean);
    expect(run("stint req")).toEqual(['request', 'requests']);
    expect(run("stint extend staging-db --t")).toEqual(['--ticket']);
  });

  it('gives zsh and fish scripts they accept, and fish completes commands', () => {
    expect(spawnSync('zsh', ['-n', '-c', script('zsh')], { encoding: 'utf8' }).status).toBe(0);
    const fish = spawnSync('fish', ['-c', `${script('fish')}\ncomplete -C 'stint canc'`], { encoding: 'utf8' });
    expect(fish.stdout.split('\n')[0]).toMatch(/^cancel/);
  });
});

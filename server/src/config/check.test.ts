import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMariaDb, type MariaDbServer } from '../../../test-support/mariadb';
import { startRedis, type RedisServer } from '../../../test-support/redis';
import { LDAP_BIND_DN, LDAP_NAMES_GROUP, LDAP_PEOPLE, startSlapd, type SlapdServer } from '../../../test-support/slapd';
import { main } from '../main';
import { demoProvider } from '../providers/demo';
import { ProviderRegistry, type ProviderFactory } from '../providers/provider';
import { checkConfigFile, probeConfigFile } from './check';
import { ConfigError } from './load';

const config = (systems: string) => `issuer: https://login.example.com
audience: stint-api
credentialKey: { env: STINT_CREDENTIAL_KEY }
systems:
${systems}`;

const system = (id: string, provider: string) => `  - id: ${id}
    name: ${id}
    provider: ${provider}
    durations: { presets: [15m], max: 1h }
    requesters: [engineering]
    approvers: [sre-leads]
`;

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'stint-check-')), 'stint.yaml');
  writeFileSync(file, text);
  return file;
}

/** Points an environment variable of this process at `value`, for a config's { env: NAME }. */
function secretVariable(value: string): string {
  const name = `STINT_TEST_CHECK_${randomBytes(6).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  return name;
}

function problemsOf(text: string, env: NodeJS.ProcessEnv = process.env, files: Record<string, string> = {}): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'stint-check-'));
  const file = join(dir, 'stint.yaml');
  writeFileSync(file, text);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  try {
    checkConfigFile(file, undefined, env);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('check-config: provider settings, as the server will build them', () => {
  it('passes a config whose providers can all be built', () => {
    expect(problemsOf(config(system('sandbox', '{ type: demo, settings: { envVar: SANDBOX_TOKEN } }')))).toEqual([]);
  });

  it('names the system, the key and its line for settings the provider refuses, and for unknown providers', () => {
    const text = config(
      system('sandbox', '{ type: demo }') +
        system('ext-tool', '{ type: webhook, settings: { issueUrl: "http://insecure.example", revokeUrl: "https://x.example/r", secret: { env: NOPE } } }') +
        system('mystery', '{ type: ldap }'),
    );
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^systems\.ext-tool\.provider\.settings \(line 13\): .*issueUrl: must be an https:\/\/ URL/),
      expect.stringMatching(/^systems\.mystery\.provider\.type \(line 19\): unknown provider "ldap"/),
    ]);
  });

  it('refuses bad mariadb and ldap-group settings before anything connects', () => {
    const text = config(
      system('shop-db', `{ type: mariadb, settings: { adminUrl: { env: ${secretVariable('mysql://admin:pw@db.internal:3306')} }, grants: ['SELECT ON shop.*', "SELECT ON shop.* TO 'x'@'%'", 'FILE ON *.*'] } }`) +
        system('db-admins', `{ type: ldap-group, settings: { url: 'ldap://ldap.internal', bindDn: 'cn=stint,dc=example,dc=com', bindPassword: { env: ${secretVariable('pw')} }, groupDn: 'cn=admins,dc=example,dc=com', membership: member, userDn: 'cn={login}+uid=x,dc=example,dc=com' } }`),
    );
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(/^systems\.shop-db\.provider\.settings \(line 7\): grants\.1: .*; grants\.2: global privileges \(\*\.\*\) are not handed out/),
      expect.stringMatching(/^systems\.db-admins\.provider\.settings \(line 13\): userDn: a DN whose first part is \{login\}/),
    ]);
  });

  it('reads every on-call source\'s secret and rota file as the server will, naming the key and line', () => {
    const text = `onCall:
  sources:
    pagerduty: { type: pagerduty, token: { env: PAGERDUTY_TOKEN } }
    opsgenie: { type: opsgenie, apiKey: { file: opsgenie.key } }
    rota: { type: file, path: oncall.json }
${config(system('sandbox', '{ type: demo }'))}`;
    expect(problemsOf(text, {}, {})).toEqual([
      'onCall.sources.pagerduty.token (line 3): the environment variable PAGERDUTY_TOKEN is not set',
      expect.stringMatching(/^onCall\.sources\.opsgenie\.apiKey \(line 4\): cannot read the secret file .*opsgenie\.key \(ENOENT\)$/),
      expect.stringMatching(/^onCall\.sources\.rota\.path \(line 5\): cannot read the rota file .*oncall\.json \(ENOENT\)$/),
    ]);
    expect(problemsOf(text, { PAGERDUTY_TOKEN: 'x' }, { 'opsgenie.key': 'k\n', 'oncall.json': '{"schedules": {}}' })).toEqual([]);
  });
});

describe('check-config: reaching the systems', () => {
  let redis: RedisServer;
  let mariadb: MariaDbServer;
  let ldap: SlapdServer;
  beforeAll(async () => {
    [redis, mariadb, ldap] = await Promise.all([startRedis(), startMariaDb(), startSlapd()]);
    process.env.STINT_CREDENTIAL_KEY ??= randomBytes(32).toString('base64');
  });
  afterAll(async () => {
    await Promise.all([redis?.destroy(), mariadb?.destroy(), ldap?.destroy()]);
  });

  const systems = (opts: { redisUrl?: string; mariadbUrl?: string; groupDn?: string } = {}) =>
    system('cache', `{ type: redis, settings: { adminUrl: { env: ${secretVariable(opts.redisUrl ?? redis.adminUrl)} }, keys: ['app:*'] } }`) +
    system('shop-db', `{ type: mariadb, settings: { adminUrl: { env: ${secretVariable(opts.mariadbUrl ?? mariadb.adminUrl)} }, grants: ['SELECT ON shop.*'] } }`) +
    system(
      'db-admins',
      `{ type: ldap-group, settings: { url: '${ldap.url}', bindDn: '${LDAP_BIND_DN}', bindPassword: { env: ${secretVariable(ldap.bindPassword)} }, groupDn: '${opts.groupDn ?? LDAP_NAMES_GROUP}', membership: member, userDn: 'uid={login},${LDAP_PEOPLE}' } }`,
    ) +
    system('sandbox', '{ type: demo }');

  it('reaches redis, mariadb and ldap-group systems as their admin; systems without a probe are left alone', async () => {
    const file = writeConfig(config(systems()));
    const report = await probeConfigFile(file, checkConfigFile(file));
    expect(report).toEqual({ reached: expect.arrayContaining(['cache', 'shop-db', 'db-admins']), problems: [] });
    expect(report.reached).toHaveLength(3);
  });

  it('names each system it cannot reach, or whose admin is refused, with its line', async () => {
    await redis.stop();
    try {
      const file = writeConfig(config(systems({ mariadbUrl: mariadb.adminUrl.replace(mariadb.adminPassword, 'wrong'), groupDn: 'cn=nope,dc=stint,dc=test' })));
      const report = await probeConfigFile(file, checkConfigFile(file));
      expect(report.reached).toEqual([]);
      expect(report.problems.sort()).toEqual([
        expect.stringMatching(/^systems\.cache\.provider \(line 7\): redis provider: probe: connecting as admin: connect ECONNREFUSED/),
        expect.stringMatching(/^systems\.db-admins\.provider \(line 19\): ldap-group provider: read group cn=nope,dc=stint,dc=test: NoSuchObjectError \(LDAP 32\)$/),
        expect.stringMatching(/^systems\.shop-db\.provider \(line 13\): mariadb provider: probe: connecting as admin: Access denied for user 'stint_admin'/),
      ]);
      expect(report.problems.join('\n')).not.toContain(mariadb.adminPassword);
    } finally {
      await redis.start();
    }
  });

  it('stint-server check-config exits 1 when a system cannot be reached, 0 when all are, and does not connect with --offline', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const good = writeConfig(config(systems()));
      expect(await main(['check-config', good])).toBe(0);
      expect(log.mock.calls.map((c) => String(c[0]))).toEqual([`${good} is a valid Stint configuration.`, expect.stringMatching(/: reached$/), expect.stringMatching(/: reached$/), expect.stringMatching(/: reached$/)]);

      const down = writeConfig(config(systems({ redisUrl: 'redis://stint_admin:pw@127.0.0.1:1' })));
      log.mockClear();
      expect(await main(['check-config', down])).toBe(1);
      expect(error.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/1 system\(s\) could not be reached as configured:\n {2}- systems\.cache\.provider \(line 7\): redis provider: probe: connecting as admin: connect ECONNREFUSED 127\.0\.0\.1:1/);
      expect(await main(['check-config', down, '--offline'])).toBe(0);
    } finally {
      log.mockRestore();
      error.mockRestore();
    }
  });

  it('gives a system that does not answer a time limit, and closes every provider it built', async () => {
    const closed: string[] = [];
    const probing = (probe: () => Promise<void>): ProviderFactory => (s) => ({ ...demoProvider({ ...s, provider: { type: 'demo', settings: {} } }), probe, close: async () => void closed.push(s.id) });
    const registry = new ProviderRegistry()
      .register('demo', demoProvider)
      .register('silent', probing(() => new Promise(() => undefined)))
      .register('fine', probing(async () => undefined));
    const file = writeConfig(config(system('hangs', '{ type: silent }') + system('ok', '{ type: fine }') + system('sandbox', '{ type: demo }')));
    const started = Date.now();
    const report = await probeConfigFile(file, checkConfigFile(file, registry), registry, 200);
    expect(report).toEqual({ reached: ['ok'], problems: ['systems.hangs.provider (line 7): no answer within 0.2 s'] });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(closed.sort()).toEqual(['hangs', 'ok']);
  });
});

// The redis provider against a real Redis 7 started by the test (test-support/redis.ts), checked
// the way a grantee would: Debian's `redis-cli` with the credential's variables (the grant
// card's connect line), and a client library with REDIS_URL.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REDIS_CLI, startRedis, type RedisServer } from '../../../test-support/redis';
import { MINUTE } from '../../test/harness';
import { SystemConfig } from '../config/schema';
import { grantToken } from './grant-token';
import { ProviderRefusal, ProviderRegistry, type IssueInput, type Provider } from './provider';
import { redisProvider } from './redis';

// ---------------------------------------------------------------------------------------------
// The grantee

/** One command through the connect line: `redis-cli --user ... -h ... -p ...`, password in REDISCLI_AUTH. */
function asGrantee(env: Record<string, string>, ...args: string[]): string {
  const result = spawnSync(REDIS_CLI, ['--user', env.STINT_REDIS_USER!, '-h', env.STINT_REDIS_HOST!, '-p', env.STINT_REDIS_PORT!, ...args], {
    // Only the credential's variables: nothing of this process's may help the login.
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    timeout: 15_000,
  });
  // redis-cli exits 0 after a refused command; it prints the error (and a failed AUTH on stderr).
  return `${result.stdout}${result.stderr}`.trim();
}

/** A client library connection with REDIS_URL that does not reconnect, so a kill stays visible. */
async function openConnection(url: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false, enableReadyCheck: false, connectTimeout: 5000, commandTimeout: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The error an attempt failed with; a test failure if it succeeded. */
async function failure(attempt: Promise<unknown>): Promise<Error> {
  try {
    await attempt;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the attempt to fail');
}

const userExists = (redis: RedisServer, user: string) => redis.cli(['ACL', 'GETUSER', user]).stdout !== '';
const stintUsers = (redis: RedisServer) =>
  redis
    .cli(['ACL', 'USERS'])
    .stdout.split('\n')
    .filter((u) => u.startsWith('stint_') && u !== 'stint_admin');

// ---------------------------------------------------------------------------------------------
// Systems and inputs

function redisSystem(settings: Record<string, unknown>, id = 'cache-test'): SystemConfig {
  return SystemConfig.parse({
    id,
    name: 'Test cache',
    provider: { type: 'redis', settings },
    durations: { presets: ['5m', '15m'], max: '1h' },
    requesters: ['engineering'],
    approvers: ['sre-leads'],
    approvalsRequired: 1,
    justification: 'optional',
  });
}

/** Points a SecretRef at a fresh environment variable holding `value`. */
const secretEnv = (value: string) => {
  const name = `STINT_TEST_REDIS_ADMIN_${randomBytes(6).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  return { env: name };
};

function issueInput(system: SystemConfig, opts: { login?: string; grantId?: string } = {}): IssueInput {
  const now = Date.now();
  return {
    grantId: opts.grantId ?? randomUUID(),
    requestId: randomUUID(),
    system,
    user: { sub: opts.login ?? 'alice', login: opts.login ?? 'alice', name: 'Alice Adams', email: 'alice@stint.example', groups: ['engineering'] },
    startsAt: now,
    expiresAt: now + 10 * MINUTE,
    publicKey: null,
  };
}

const revokeInput = (system: SystemConfig, grantId: string, state: Record<string, unknown>) => ({ grantId, system, state, reason: 'released' as const });

// ---------------------------------------------------------------------------------------------

describe('redis provider against a real Redis', () => {
  let redis: RedisServer;
  let system: SystemConfig;
  let provider: Provider;
  beforeAll(async () => {
    redis = await startRedis();
    redis.cli(['SET', 'app:greeting', 'hello']);
    redis.cli(['SET', 'secret:token', 'do-not-read']);
    system = redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*'] });
    provider = redisProvider(system);
  });
  afterAll(async () => {
    await provider?.close?.();
    await redis?.destroy();
  });

  it('issues a user that reads its keys and nothing more, with a password that works and a wrong one that does not', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const user = issued.fields.user!;
    expect(user).toBe(`stint_alice_${grantToken(input.grantId)}`);
    expect(issued.state).toEqual({ user });
    expect(issued.fields).toMatchObject({ host: '127.0.0.1', port: String(redis.port), expiresAt: new Date(input.expiresAt).toISOString() });
    expect(issued.fields.password).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(issued.env).sort()).toEqual(['REDISCLI_AUTH', 'REDIS_URL', 'STINT_REDIS_HOST', 'STINT_REDIS_PORT', 'STINT_REDIS_USER']);

    expect(asGrantee(issued.env, 'ACL', 'WHOAMI')).toMatch(/NOPERM/); // +@read only: not even WHOAMI (@slow @connection)
    expect(asGrantee(issued.env, 'GET', 'app:greeting')).toBe('hello');
    expect(asGrantee(issued.env, 'GET', 'secret:token')).toMatch(/^NOPERM .*keys/);
    expect(asGrantee(issued.env, 'SET', 'app:greeting', 'changed')).toMatch(/^NOPERM .*'set' command/);
    expect(asGrantee(issued.env, 'FLUSHALL')).toMatch(/^NOPERM .*'flushall' command/);
    expect(asGrantee(issued.env, 'PUBLISH', 'news', 'x')).toMatch(/^NOPERM/);
    expect(redis.cli(['GET', 'app:greeting']).stdout).toBe('hello');
    const wrong = asGrantee({ ...issued.env, REDISCLI_AUTH: 'not-the-password' }, 'GET', 'app:greeting');
    expect(wrong).toMatch(/WRONGPASS/);
    expect(wrong).not.toContain('hello');

    // REDIS_URL is a working connection string (user and password URL-encoded).
    const client = await openConnection(issued.env.REDIS_URL!);
    expect(await client.get('app:greeting')).toBe('hello');
    client.disconnect();

    // Only the password's SHA-256 reached Redis; neither the ACL file nor the state holds it.
    const getuser = redis.cli(['ACL', 'GETUSER', user]).stdout;
    expect(getuser).toContain(createHash('sha256').update(issued.fields.password!).digest('hex'));
    expect(getuser).toContain(`~stint:grant:${input.grantId}`); // the ownership mark
    expect(readFileSync(redis.aclFile!, 'utf8')).toContain(`user ${user} on`);
    expect(readFileSync(redis.aclFile!, 'utf8')).not.toContain(issued.fields.password);
    expect(JSON.stringify(issued.state)).not.toContain(issued.fields.password);

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(userExists(redis, user)).toBe(false);
  });

  it('gives the grantee connectHost and connectPort when set (a proxy, a public name) instead of the admin URL\'s', async () => {
    const elsewhere = redisProvider(redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*'], connectHost: 'localhost', connectPort: 7000 }));
    const input = issueInput(system);
    const issued = await elsewhere.issue(input);
    expect(issued.fields).toMatchObject({ host: 'localhost', port: '7000' });
    expect(issued.env).toMatchObject({ STINT_REDIS_HOST: 'localhost', STINT_REDIS_PORT: '7000' });
    expect(issued.env.REDIS_URL).toBe(`redis://${issued.fields.user}:${issued.fields.password}@localhost:7000`);
    await elsewhere.revoke(revokeInput(system, input.grantId, issued.state));
    await elsewhere.close?.();
  });

  it('its ownership mark gives nothing: the marked key is out of reach too', async () => {
    const input = issueInput(system);
    redis.cli(['SET', `stint:grant:${input.grantId}`, 'mark']);
    const issued = await provider.issue(input);
    expect(asGrantee(issued.env, 'GET', `stint:grant:${input.grantId}`)).toMatch(/^NOPERM/);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
  });

  it('applies channels and command rules from the settings', async () => {
    const pubsub = redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*', 'jobs:*'], channels: ['news', 'alerts:*'], commands: ['+@read', '+@write', '-del', '+publish'] });
    const pubsubProvider = redisProvider(pubsub);
    const input = issueInput(pubsub);
    const issued = await pubsubProvider.issue(input);
    expect(asGrantee(issued.env, 'SET', 'jobs:1', 'queued')).toBe('OK');
    expect(asGrantee(issued.env, 'DEL', 'jobs:1')).toMatch(/^NOPERM .*'del' command/);
    expect(asGrantee(issued.env, 'PUBLISH', 'news', 'x')).toBe('0');
    expect(asGrantee(issued.env, 'PUBLISH', 'alerts:disk', 'x')).toBe('0');
    expect(asGrantee(issued.env, 'PUBLISH', 'payroll', 'x')).toMatch(/^NOPERM .*channel/);
    await pubsubProvider.revoke(revokeInput(pubsub, input.grantId, issued.state));
    await pubsubProvider.close?.();
  });

  it('revoke deletes the user and kills its open connection; a second revoke succeeds', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    const open = await openConnection(issued.env.REDIS_URL!);
    expect(await open.get('app:greeting')).toBe('hello');
    expect(redis.cli(['CLIENT', 'LIST']).stdout).toContain(`user=${issued.fields.user} `);

    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(userExists(redis, issued.fields.user!)).toBe(false);
    expect(redis.cli(['CLIENT', 'LIST']).stdout).not.toContain(`user=${issued.fields.user} `);
    await expect(open.get('app:greeting')).rejects.toThrow();
    open.disconnect();
    expect(asGrantee(issued.env, 'GET', 'app:greeting')).toMatch(/WRONGPASS/);
    // ... and it was saved: the ACL file no longer names the user.
    expect(readFileSync(redis.aclFile!, 'utf8')).not.toContain(issued.fields.user);

    // Idempotent: a second revoke (another replica, a lost reply) finds nothing and succeeds.
    await expect(provider.revoke(revokeInput(system, input.grantId, issued.state))).resolves.toBeUndefined();
  });

  it('issues again for the same grant (an answer lost in a crash): one user, the new password, the old one refused', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const again = await provider.issue(input);
    expect(again.fields.user).toBe(first.fields.user);
    expect(again.fields.password).not.toBe(first.fields.password);
    expect(stintUsers(redis)).toEqual([first.fields.user]);
    expect(asGrantee(again.env, 'GET', 'app:greeting')).toBe('hello');
    expect(asGrantee(first.env, 'GET', 'app:greeting')).toMatch(/WRONGPASS/);
    await provider.revoke(revokeInput(system, input.grantId, again.state));
    expect(stintUsers(redis)).toEqual([]);
  });

  it('issues again under the name the first attempt used, even after the template changed; a lost reply is cleaned up by its mark', async () => {
    const input = issueInput(system);
    const first = await provider.issue(input);
    const renamed = redisProvider(redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*'], userNameTemplate: 'jit_{user}_{grant}' }));
    try {
      const again = await renamed.issue(input);
      expect(again.fields.user).toBe(first.fields.user);
      // What recordIssue stores when issue() threw: no user name at all.
      await renamed.revoke(revokeInput(system, input.grantId, {}));
      expect(userExists(redis, first.fields.user!)).toBe(false);
      await expect(renamed.revoke(revokeInput(system, randomUUID(), {}))).resolves.toBeUndefined();
    } finally {
      await renamed.close?.();
    }
  });

  it('leaves alone users it did not create for that grant', async () => {
    const input = issueInput(system);
    const name = `stint_alice_${grantToken(input.grantId)}`;
    redis.cli(['ACL', 'SETUSER', name, 'on', '>theirs', '~*', '+@all']);
    await expect(provider.issue(input)).rejects.toBeInstanceOf(ProviderRefusal);
    await expect(provider.issue(input)).rejects.toThrow(/exists and was not created by Stint/);
    expect(redis.cli(['ACL', 'GETUSER', name]).stdout).toContain('+@all');
    redis.cli(['ACL', 'DELUSER', name]);

    await expect(provider.revoke(revokeInput(system, randomUUID(), { user: 'root' }))).rejects.toThrow(/refusing to touch user "root"/);
    const other = await provider.issue(issueInput(system));
    await expect(provider.revoke(revokeInput(system, randomUUID(), other.state))).rejects.toThrow(/refusing/);
    expect(userExists(redis, 'root')).toBe(true);
    expect(userExists(redis, 'stint_admin')).toBe(true);
    expect(userExists(redis, other.fields.user!)).toBe(true);
    await provider.revoke(revokeInput(system, randomUUID(), {})); // another grant's lost reply: `other` is not its
    expect(userExists(redis, other.fields.user!)).toBe(true);
    redis.cli(['ACL', 'DELUSER', other.fields.user!]);
  });

  it("refuses (no retry can help) a rule Redis does not know, and an admin it will not let in; creates nothing", async () => {
    const bad = redisProvider(redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*'], commands: ['+@reed'] }));
    const input = issueInput(system);
    const error = await failure(bad.issue(input));
    expect(error).toBeInstanceOf(ProviderRefusal);
    expect(error.message).toMatch(/set user: ERR Error in ACL SETUSER modifier '\+@reed'/);
    expect(userExists(redis, `stint_alice_${grantToken(input.grantId)}`)).toBe(false);

    const wrongAdmin = redisProvider(redisSystem({ adminUrl: secretEnv(redis.adminUrl.replace(redis.adminPassword, 'wrong-admin-pw')), keys: ['app:*'] }));
    const refused = await failure(wrongAdmin.issue(input));
    expect(refused).toBeInstanceOf(ProviderRefusal);
    expect(refused.message).toMatch(/connecting as admin: WRONGPASS/);
    expect(refused.message).not.toContain('wrong-admin-pw');
  });

  it('probe logs in as the admin and asks Redis whether it may run what issue and revoke run', async () => {
    await expect(provider.probe!()).resolves.toBeUndefined();
    redis.cli(['ACL', 'SETUSER', 'stint_admin', '-client|kill']);
    try {
      const error = await failure(provider.probe!());
      expect(error).toBeInstanceOf(ProviderRefusal);
      expect(error.message).toBe("redis provider: probe: This user has no permissions to run the 'client|kill' command");
    } finally {
      redis.cli(['ACL', 'SETUSER', 'stint_admin', '+client|kill']);
    }
    const wrongAdmin = redisProvider(redisSystem({ adminUrl: secretEnv(redis.adminUrl.replace(redis.adminPassword, 'wrong-admin-pw')), keys: ['app:*'] }));
    await expect(wrongAdmin.probe!()).rejects.toThrow(/^redis provider: probe: connecting as admin: WRONGPASS/);
  });

  it('a revoke while Redis is down fails as retryable, and succeeds once it is back', async () => {
    const input = issueInput(system);
    const issued = await provider.issue(input);
    await redis.stop();
    try {
      const started = Date.now();
      const error = await failure(provider.revoke(revokeInput(system, input.grantId, issued.state)));
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      expect(error.message).toMatch(/^redis provider: revoke: connecting as admin: connect ECONNREFUSED/);
      expect(error.message).not.toContain(redis.adminPassword);
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(provider.issue(issueInput(system))).rejects.not.toBeInstanceOf(ProviderRefusal);
      await expect(provider.probe!()).rejects.toThrow(/^redis provider: probe: connecting as admin: connect ECONNREFUSED/);
    } finally {
      await redis.start();
    }
    // The ACL file brought the user back with the server; the retry takes it away.
    expect(userExists(redis, issued.fields.user!)).toBe(true);
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(userExists(redis, issued.fields.user!)).toBe(false);
  });

  it('ACL SAVE keeps both ends across a restart: the revoked user stays gone, the issued one stays usable', async () => {
    const kept = issueInput(system);
    const gone = issueInput(system);
    const keptIssued = await provider.issue(kept);
    const goneIssued = await provider.issue(gone);
    await provider.revoke(revokeInput(system, gone.grantId, goneIssued.state));
    await redis.stop();
    await redis.start();
    expect(userExists(redis, goneIssued.fields.user!)).toBe(false);
    expect(asGrantee(keptIssued.env, 'PING')).toMatch(/NOPERM/); // logged in (PING is not @read), not WRONGPASS
    expect(asGrantee(keptIssued.env, 'EXISTS', 'app:greeting')).toBe('0'); // the keys went with the restart (no RDB), the user did not
    await provider.revoke(revokeInput(system, kept.grantId, keptIssued.state));
  });

  it('a server that accepts and then says nothing fails the attempt within the command timeout, retryably', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const stalled = redisProvider(redisSystem({ adminUrl: secretEnv(`redis://stint_admin:pw@127.0.0.1:${port}`), keys: ['*'] }));
    try {
      const started = Date.now();
      const error = await failure(stalled.issue(issueInput(system)));
      expect(error.message).toMatch(/connecting as admin: Command timed out/);
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      expect(Date.now() - started).toBeLessThan(6500);
    } finally {
      await stalled.close?.();
      silent.close();
    }
  });

  it('a connection reset after login fails the attempt, reported by it and not as an unhandled error event', async () => {
    // Answers the admin's AUTH, then resets the connection under the first command. With no
    // 'error' listener, ioredis writes "[ioredis] Unhandled error event" to stderr, past the logger.
    const resetting = net.createServer((socket) => {
      socket.on('error', () => undefined);
      let chunks = 0;
      socket.on('data', () => (++chunks === 1 ? socket.write('+OK\r\n') : socket.resetAndDestroy()));
    });
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const { port } = resetting.address() as net.AddressInfo;
    const dropped = redisProvider(redisSystem({ adminUrl: secretEnv(`redis://stint_admin:pw@127.0.0.1:${port}`), keys: ['*'] }));
    const unhandled = vi.spyOn(console, 'error');
    try {
      const error = await failure(dropped.revoke(revokeInput(system, randomUUID(), {})));
      expect(error.message).toMatch(/^redis provider: find user: /);
      expect(error).not.toBeInstanceOf(ProviderRefusal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled.mock.calls.filter((args) => String(args[0]).includes('ioredis'))).toEqual([]);
    } finally {
      unhandled.mockRestore();
      await dropped.close?.();
      resetting.close();
    }
  });

  it('sends Redis only the password\'s SHA-256, never the password', async () => {
    // A TCP relay in front of Redis that keeps what the provider sends.
    let sent = '';
    const relay = net.createServer((socket) => {
      const upstream = net.connect(redis.port, '127.0.0.1');
      socket.on('data', (chunk: Buffer) => {
        sent += chunk.toString('latin1');
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => socket.write(chunk));
      const end = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as net.AddressInfo;
    const relayed = redisProvider(redisSystem({ adminUrl: secretEnv(`redis://stint_admin:${redis.adminPassword}@127.0.0.1:${port}`), keys: ['app:*'] }));
    try {
      const input = issueInput(system);
      const issued = await relayed.issue(input);
      expect(sent).toContain('SETUSER');
      expect(sent).toContain(createHash('sha256').update(issued.fields.password!).digest('hex'));
      expect(sent).not.toContain(issued.fields.password);
      await relayed.revoke(revokeInput(system, input.grantId, issued.state));
    } finally {
      await relayed.close?.();
      relay.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('redis provider on a server without an ACL file', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ aclFile: false });
    redis.cli(['SET', 'app:greeting', 'hello']);
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  it('issues and revokes without ACL SAVE (auto), and says so when told to save anyway', async () => {
    const system = redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*'] });
    const provider = redisProvider(system);
    const input = issueInput(system);
    const issued = await provider.issue(input);
    expect(asGrantee(issued.env, 'GET', 'app:greeting')).toBe('hello');
    await provider.revoke(revokeInput(system, input.grantId, issued.state));
    expect(userExists(redis, issued.fields.user!)).toBe(false);

    const always = redisProvider(redisSystem({ adminUrl: secretEnv(redis.adminUrl), keys: ['app:*'], saveAcl: 'always' }));
    const error = await failure(always.issue(issueInput(system)));
    expect(error).toBeInstanceOf(ProviderRefusal);
    expect(error.message).toMatch(/save ACL file: .*not configured to use an ACL file/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('redis provider settings', () => {
  const url = 'redis://admin:s3cret-admin-pw@cache.internal:6380';
  const make = (settings: Record<string, unknown>) => () => redisProvider(redisSystem(settings));

  it('names the setting that is wrong', () => {
    const adminUrl = secretEnv(url);
    expect(make({ adminUrl })).toThrow(/^keys: /);
    expect(make({ adminUrl, keys: [] })).toThrow(/^keys: name at least one key pattern/);
    expect(make({ keys: ['*'] })).toThrow(/^adminUrl: /);
    expect(make({ adminUrl: 'redis://inline@secret', keys: ['*'] })).toThrow(/^adminUrl: /);
    expect(make({ adminUrl: { env: 'STINT_TEST_REDIS_UNSET_VARIABLE' }, keys: ['*'] })).toThrow(/^adminUrl: the environment variable STINT_TEST_REDIS_UNSET_VARIABLE is not set/);
    expect(make({ adminUrl, keys: ['app:* secret:*'] })).toThrow(/^keys\.0: printable ASCII without spaces/);
    expect(make({ adminUrl, keys: ['*'], channels: ['"news"'] })).toThrow(/^channels\.0: /);
    expect(make({ adminUrl, keys: ['*'], commands: ['@read'] })).toThrow(/^commands\.0: a command rule/);
    expect(make({ adminUrl, keys: ['*'], commands: ['+@read (~x +@all)'] })).toThrow(/^commands\.0: /);
    expect(make({ adminUrl, keys: ['*'], saveAcl: 'sometimes' })).toThrow(/^saveAcl: /);
    expect(make({ adminUrl, keys: ['*'], connectPort: 0 })).toThrow(/^connectPort: /);
    expect(make({ adminUrl, keys: ['*'], password: 'x' })).toThrow(/Unrecognized key/);
    expect(make({ adminUrl, keys: ['*'], userNameTemplate: 'stint_{user}' })).toThrow(/^userNameTemplate: must contain \{grant\}/);
    expect(make({ adminUrl, keys: ['*'], userNameTemplate: '{grant}_{team}' })).toThrow(/^userNameTemplate: unknown placeholder \{team\}/);
    expect(make({ adminUrl, keys: ['*'], userNameTemplate: 'stint {grant}' })).toThrow(/^userNameTemplate: printable ASCII/);
  });

  it('never echoes the admin URL secret in its errors', () => {
    for (const value of ['not a url s3cret-admin-pw', 'postgres://root:s3cret-admin-pw@db/app', 'redis://root:s3cret-admin-pw@/0']) {
      const error = (() => {
        try {
          make({ adminUrl: secretEnv(value), keys: ['*'] })();
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${value}`);
      })();
      expect(error.message).toMatch(/^adminUrl: /);
      expect(error.message).not.toContain('s3cret-admin-pw');
    }
  });

  it('builds without connecting', async () => {
    // Nothing listens on cache.internal: a factory that connected would fail here or hang.
    const provider = make({ adminUrl: secretEnv(url), keys: ['*'] })();
    expect(provider).toMatchObject({ type: 'redis', needsPublicKey: false });
    const registry = new ProviderRegistry().register('redis', redisProvider);
    expect(() => registry.configure([redisSystem({ adminUrl: secretEnv(url) })])).toThrow(/systems\.cache-test\.provider\.settings: keys: /);
  });
});

import { describe, expect, it } from 'vitest';
import { bundleMembersText, connectLines, grantConnectLines } from './connect';

describe('connectLines', () => {
  it('gives psql with the URL variable for PostgreSQL, and stint exec for shells without the hook', () => {
    expect(connectLines('prod-db', 'postgres', ['PGHOST', 'PGPASSWORD', 'DATABASE_URL'])).toEqual([
      { where: 'hooked shell', command: 'psql "$DATABASE_URL"' },
      { where: 'any shell', command: 'stint exec prod-db -- psql' },
    ]);
  });

  it('gives ssh to the granted user and host for SSH (the key is in the agent)', () => {
    const [hooked, anywhere] = connectLines('bastion', 'ssh', ['STINT_SSH_HOST', 'STINT_SSH_PORT', 'STINT_SSH_USER']);
    expect(hooked).toEqual({ where: 'hooked shell', command: 'ssh -p "$STINT_SSH_PORT" "$STINT_SSH_USER@$STINT_SSH_HOST"' });
    expect(anywhere?.command).toBe(`stint exec bastion -- sh -c 'ssh -p "$STINT_SSH_PORT" "$STINT_SSH_USER@$STINT_SSH_HOST"'`);
  });

  it('gives redis-cli as the granted user for Redis, the password coming from REDISCLI_AUTH', () => {
    const [hooked, anywhere] = connectLines('cache', 'redis', ['REDIS_URL', 'REDISCLI_AUTH', 'STINT_REDIS_HOST', 'STINT_REDIS_PORT', 'STINT_REDIS_USER']);
    expect(hooked).toEqual({ where: 'hooked shell', command: 'redis-cli --user "$STINT_REDIS_USER" -h "$STINT_REDIS_HOST" -p "$STINT_REDIS_PORT"' });
    expect(anywhere?.command).toBe(`stint exec cache -- sh -c 'redis-cli --user "$STINT_REDIS_USER" -h "$STINT_REDIS_HOST" -p "$STINT_REDIS_PORT"'`);
    expect(connectLines('cache', 'redis', ['REDISCLI_AUTH', 'STINT_REDIS_HOST', 'STINT_REDIS_PORT', 'STINT_REDIS_USER', 'STINT_REDIS_TLS'])[0]?.command).toMatch(/^redis-cli --tls --user /);
    // Without the password variable redis-cli would log in as nobody: no line that cannot work.
    expect(connectLines('cache', 'redis', ['STINT_REDIS_HOST', 'STINT_REDIS_PORT', 'STINT_REDIS_USER'])).toEqual([{ where: 'any shell', command: 'stint exec cache -- <command>' }]);
  });

  it('gives mysql as the granted user for MariaDB, the password coming from MYSQL_PWD', () => {
    const env = ['DATABASE_URL', 'MYSQL_PWD', 'STINT_MARIADB_HOST', 'STINT_MARIADB_PORT', 'STINT_MARIADB_USER'];
    const [hooked, anywhere] = connectLines('shop-db', 'mariadb', env);
    expect(hooked).toEqual({ where: 'hooked shell', command: 'mysql --protocol=TCP -h "$STINT_MARIADB_HOST" -P "$STINT_MARIADB_PORT" -u "$STINT_MARIADB_USER"' });
    expect(anywhere?.command).toBe(`stint exec shop-db -- sh -c 'mysql --protocol=TCP -h "$STINT_MARIADB_HOST" -P "$STINT_MARIADB_PORT" -u "$STINT_MARIADB_USER"'`);
    expect(connectLines('shop-db', 'mariadb', [...env, 'STINT_MARIADB_DATABASE'])[0]?.command).toMatch(/ -u "\$STINT_MARIADB_USER" -D "\$STINT_MARIADB_DATABASE"$/);
    // Without the password variable the client would log in with none: no line that cannot work.
    expect(connectLines('shop-db', 'mariadb', env.filter((n) => n !== 'MYSQL_PWD'))).toEqual([{ where: 'any shell', command: 'stint exec shop-db -- <command>' }]);
  });

  it('falls back to stint exec for a provider it does not know, or one whose variables are missing', () => {
    expect(connectLines('demo-sandbox', 'demo', ['DEMO_TOKEN'])).toEqual([{ where: 'any shell', command: 'stint exec demo-sandbox -- <command>' }]);
    expect(connectLines('prod-db', 'postgres', [])).toEqual([{ where: 'any shell', command: 'stint exec prod-db -- <command>' }]);
  });

  it('never puts a value in a line, only variable names', () => {
    for (const line of connectLines('prod-db', 'postgres', ['DATABASE_URL'])) expect(line.command).not.toMatch(/postgres:\/\//);
    for (const line of connectLines('cache', 'redis', ['REDIS_URL', 'REDISCLI_AUTH', 'STINT_REDIS_HOST', 'STINT_REDIS_PORT', 'STINT_REDIS_USER'])) {
      expect(line.command).not.toMatch(/redis:\/\/|REDIS_URL|-a |REDISCLI_AUTH/);
    }
    for (const line of connectLines('shop-db', 'mariadb', ['DATABASE_URL', 'MYSQL_PWD', 'STINT_MARIADB_HOST', 'STINT_MARIADB_PORT', 'STINT_MARIADB_USER'])) {
      expect(line.command).not.toMatch(/mysql:\/\/|DATABASE_URL| -p\b|--password|MYSQL_PWD/);
    }
  });
});

describe('a bundle in words', () => {
  it('names its members as one phrase, and nothing for a single system', () => {
    expect(bundleMembersText([{ name: 'Production database' }, { name: 'Dev SSH host' }])).toBe('Production database and Dev SSH host');
    expect(bundleMembersText([{ name: 'A' }, { name: 'B' }, { name: 'C' }])).toBe('A, B, and C');
    expect(bundleMembersText(null)).toBe('');
    expect(bundleMembersText([])).toBe('');
  });
});

describe("a bundle grant's connect lines", () => {
  it("gives each member's client, all through the bundle's one `stint exec`, and the generic line once", () => {
    const incident = { id: 'incident', provider: 'bundle', bundle: [{ provider: 'postgres' }, { provider: 'ssh' }, { provider: 'webhook' }] };
    const lines = grantConnectLines(incident, 'incident', ['DATABASE_URL', 'STINT_SSH_HOST', 'STINT_SSH_USER', 'ORDERS_TOKEN']);
    expect(lines.map((l) => l.command)).toEqual([
      'psql "$DATABASE_URL"',
      'stint exec incident -- psql',
      'ssh "$STINT_SSH_USER@$STINT_SSH_HOST"',
      `stint exec incident -- sh -c 'ssh "$STINT_SSH_USER@$STINT_SSH_HOST"'`,
      'stint exec incident -- <command>',
    ]);
    expect(grantConnectLines({ id: 'prod-db', provider: 'postgres', bundle: null }, 'prod-db', ['DATABASE_URL'])[0]?.command).toBe('psql "$DATABASE_URL"');
  });
});

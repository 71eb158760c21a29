import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../test-support/agent';
import { startDevServer, type DevServer } from '../../test-support/dev-server';
import { startPostgresCluster, type PostgresCluster } from '../../test-support/postgres';

/**
 * `stint exec` with the PostgreSQL provider: dev mode's prod-db mints a real role on a real
 * PostgreSQL that asks for passwords (scram), and psql logs in with nothing but the grant.
 */
describe('stint exec prod-db -- psql', () => {
  let cluster: PostgresCluster;
  let dev: DevServer;
  let agent: Agent;

  beforeAll(async () => {
    cluster = await startPostgresCluster({ name: 'cli-psql' });
    writeFileSync(join(cluster.socketDir, 'data', 'pg_hba.conf'), 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n');
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('select pg_reload_conf()');
    await admin.end();
    dev = await startDevServer({ env: { STINT_DEV_POSTGRES_URL: cluster.adminUrl } });
    agent = await startAgent({ serverUrl: dev.serverUrl, user: 'alice' });
    expect(agent.stint(['login']).status).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await agent?.stop();
    await dev?.stop();
    await cluster?.destroy();
  });

  it('runs psql as the temporary role during the grant, and not after release', async () => {
    const requested = JSON.parse(agent.stint(['request', 'prod-db', '--for', '15m', '--reason', 'check a row', '--ticket', 'OPS-7', '--json']).stdout);
    const approved = await dev.api('bob', 'POST', `/v1/requests/${requested.id}/reviews`, { decision: 'approve' });
    expect(approved.body.grant.state).toBe('active');
    const psql = ['exec', 'prod-db', '--', 'psql', '-XtAc', 'select current_user'];
    let run = agent.stint(psql);
    for (let i = 0; i < 30 && run.status === 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      run = agent.stint(psql);
    }
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(/^stint_alice_[a-z2-7]{15}$/);
    const role = run.stdout.trim();

    expect(agent.stint(['release', 'prod-db']).status).toBe(0);
    const env = JSON.parse(agent.stint(['env', '--shell', 'json']).stdout);
    expect(env.PGUSER).toBeUndefined();
    const check = new pg.Client({ connectionString: cluster.adminUrl });
    await check.connect();
    const { rows } = await check.query('select 1 from pg_roles where rolname = $1', [role]);
    await check.end();
    expect(rows).toEqual([]);
  });
});

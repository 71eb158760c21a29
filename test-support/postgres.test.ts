import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, startPostgresCluster, type PostgresCluster } from './postgres.js';

async function selectOne(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const result = await client.query<{ one: number }>('select 1 as one');
    return result.rows[0]?.one ?? Number.NaN;
  } finally {
    await client.end();
  }
}

describe('the shared cluster', () => {
  it('makes a database, serves it, and drops it', async () => {
    const adminUrl = inject('pgAdminUrl');
    const db = await createDatabase(adminUrl);
    expect(db.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/test_[0-9a-f]{16}$/);

    expect(await selectOne(db.url)).toBe(1);

    // A connection still open must not block the drop (WITH (FORCE)).
    const lingering = new pg.Client({ connectionString: db.url });
    lingering.on('error', () => undefined);
    await lingering.connect();
    await db.drop();
    await lingering.end().catch(() => undefined);

    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const left = await admin.query('select 1 from pg_database where datname = $1', [db.name]);
      expect(left.rowCount).toBe(0);
    } finally {
      await admin.end();
    }
    await db.drop(); // idempotent
  });

  it('quotes awkward names', async () => {
    const db = await createDatabase(inject('pgAdminUrl'), 'we"ird name');
    try {
      expect(await selectOne(db.url)).toBe(1);
    } finally {
      await db.drop();
    }
  });
});

describe('an own cluster', () => {
  let cluster: PostgresCluster | undefined;
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('stops (connections fail) and starts again on the same port with the same data', async () => {
    cluster = await startPostgresCluster({ name: 'restart' });
    const db = await createDatabase(cluster.adminUrl);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query("create table kept (v text); insert into kept values ('still here')");
    await client.end();

    await cluster.stop();
    await expect(selectOne(db.url)).rejects.toThrow(/ECONNREFUSED/);

    await cluster.start();
    const again = new pg.Client({ connectionString: db.url });
    await again.connect();
    try {
      const rows = await again.query<{ v: string }>('select v from kept');
      expect(rows.rows).toEqual([{ v: 'still here' }]);
    } finally {
      await again.end();
    }
    expect(cluster.adminUrl).toContain(`:${cluster.port}/`);
  });
});

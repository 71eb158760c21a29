// The database failing under the server (issue 20.2): a full SQLite file and a stopped
// PostgreSQL answer 503 with words that say what is wrong and a Retry-After, never an opaque
// 500, and the server heals without a restart once the database is back.
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, startPostgresCluster, type PostgresCluster } from '../../test-support/postgres';
import { startHarness, type Harness } from './harness';

const ask = (h: Harness, user: string) => h.api(user, 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300, reason: 'storage fault test' });

describe('storage faults', () => {
  const open: Harness[] = [];
  let cluster: PostgresCluster | undefined;
  afterAll(async () => {
    for (const h of open) await h.close();
    await cluster?.destroy();
  });

  it('SQLite full: 503 storage_full with Retry-After, and reads still answer', async () => {
    const h = await startHarness({ engine: 'sqlite' });
    open.push(h);
    // The file may not grow any more, as on a full disk: SQLite's own SQLITE_FULL.
    const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(h.server.store.db);
    await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(h.server.store.db);
    let who = 'alice';
    let answer = await ask(h, who);
    for (let i = 0; i < 400 && answer.status !== 503; i++) answer = await ask(h, (who = await h.person(`filler-${i}`)));
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('60');
    expect(answer.body).toEqual({ error: 'storage_full', message: expect.stringMatching(/^The Stint server cannot write: its database storage is full\. Tell your Stint admin .* check your requests before trying again/) });
    // And /readyz says so (a read still answers, so only a write probe can tell).
    await new Promise((r) => setTimeout(r, 1100)); // past the probe's reuse of its last answer
    const ready = await h.api(null, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'unready', checks: { database: true, storageWritable: false }, detail: { storageWritable: expect.stringMatching(/^cannot write \(full: /) } });
    // Reads still work: the person can look at what was saved (here the request may be, while
    // its grant's issue, a later write, failed), as the message tells them to.
    const mine = await h.api(who, 'GET', '/v1/requests?scope=mine');
    expect(mine.status).toBe(200);
    console.log('saved before the storage filled:', mine.body.requests.map((r: { state: string; grantId: string | null }) => `${r.state} grant=${r.grantId}`));
  }, 120_000);

  it('PostgreSQL stopped: 503 storage_unreachable, and the same server works again once it is back', async () => {
    cluster = await startPostgresCluster({ name: 'storage-fault' });
    const database = await createDatabase(cluster.adminUrl);
    const h = await startHarness({ engine: 'postgres', database: database.url });
    open.push(h);
    expect((await ask(h, 'alice')).status).toBe(201);

    expect((await h.api(null, 'GET', '/readyz')).body.checks.storageWritable).toBe(true);
    await cluster.stop();
    const down = await ask(h, 'bob');
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('5');
    expect(down.body).toEqual({ error: 'storage_unreachable', message: expect.stringMatching(/cannot reach its database right now\. Try again in a moment/) });
    const read = await h.api('bob', 'GET', '/v1/requests?scope=mine');
    expect(read.status).toBe(503);
    await new Promise((r) => setTimeout(r, 1100)); // past the probe's reuse of its answer from before the stop
    const unready = await h.api(null, 'GET', '/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body).toMatchObject({ checks: { database: false, storageWritable: false } });

    await cluster.start();
    let healed = await ask(h, 'bob');
    for (let i = 0; i < 50 && healed.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 200));
      healed = await ask(h, 'bob');
    }
    expect(healed.status).toBe(201);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await h.api(null, 'GET', '/readyz')).body).toMatchObject({ checks: { database: true, storageWritable: true } });
  }, 120_000);
});

/**
 * create_approve_per_s: request-create + approve pairs per second that one server sustains,
 * over loopback HTTP with real JWT verification, on SQLite and on PostgreSQL. The server runs
 * in its own process (bench/bench-server.ts); this process is the load tool, with 32 clients on
 * keep-alive connections. Each approval activates a grant (demo provider issue, audit, events).
 * Run alone: npx tsx bench/create-approve.ts [--pairs 3000] [--concurrency 32] [--engine sqlite]
 */
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { createDatabase, startPostgresCluster } from '../test-support/postgres';
import { isMain, startTsChild } from './processes';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '3000' }, concurrency: { type: 'string', default: '32' }, engine: { type: 'string' } } });
const PAIRS = Number(values.pairs);
const CONCURRENCY = Number(values.concurrency);

async function measure(engine: string, database?: string): Promise<number> {
  const server = await startTsChild<{ url: string; tokens: Record<string, string> }>('bench/bench-server.ts', database ? ['--database', database] : []);
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  try {
    const alice = `Bearer ${server.info.tokens.alice}`;
    const bob = `Bearer ${server.info.tokens.bob}`;
    const post = async (auth: string, path: string, body: unknown) => {
      const response = await request(`${server.info.url}${path}`, { method: 'POST', dispatcher, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await response.body.json()) as { request: { id: string; state: string } };
      if (response.statusCode >= 300) throw new Error(`${path} answered ${response.statusCode}: ${JSON.stringify(json)}`);
      return json;
    };
    const pair = async () => {
      const { request: created } = await post(alice, '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'bench' });
      const reviewed = await post(bob, `/v1/requests/${created.id}/reviews`, { decision: 'approve' });
      if (reviewed.request.state !== 'active') throw new Error(`request ended ${reviewed.request.state}`);
    };
    const run = async (count: number) => {
      let left = count;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) await pair();
      }));
    };
    await run(300); // warm-up: JIT, token cache, connections
    const started = performance.now();
    await run(PAIRS);
    const seconds = (performance.now() - started) / 1000;
    const perSecond = Math.round(PAIRS / seconds);
    console.log(`create_approve_per_s ${engine}: ${perSecond} (${PAIRS} pairs, ${CONCURRENCY} clients, ${seconds.toFixed(1)} s)`);
    return perSecond;
  } finally {
    await dispatcher.close();
    await server.stop();
  }
}

export async function benchCreateApprove(): Promise<Record<string, { value: number; unit: string }>> {
  const sqlite = await measure('sqlite');
  if (values.engine === 'sqlite') return { create_approve_per_s_sqlite: { value: sqlite, unit: 'pairs/s' } };
  const cluster = await startPostgresCluster({ name: 'bench' });
  try {
    const db = await createDatabase(cluster.adminUrl);
    const postgres = await measure('postgres', db.url);
    return { create_approve_per_s_sqlite: { value: sqlite, unit: 'pairs/s' }, create_approve_per_s_postgres: { value: postgres, unit: 'pairs/s' } };
  } finally {
    await cluster.destroy();
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchCreateApprove(), null, 2));
  process.exit(0);
}

/**
 * create_approve_per_s: request-create + approve pairs per second that one server sustains,
 * over loopback HTTP with real JWT verification, on SQLite and on PostgreSQL. The server runs
 * in its own process (bench/bench-server.ts); this process is the load tool, with 32 clients on
 * keep-alive connections. Each approval activates a grant (demo provider issue, audit, events).
 * Every pair has a requester of its own (one person has one live grant per system), whose token
 * the server verifies once, as it would for a person's first call.
 * Like api-read (wrk), it warms up for 5 s and then measures for 5 s: a fresh server needs
 * ~3,000 pairs before V8 has compiled its hot paths (the first thousand run at a third of the
 * speed), and a sustained rate is what the figure is about.
 * Run alone: npx tsx bench/create-approve.ts [--seconds 5] [--warmup 5] [--concurrency 32] [--engine sqlite]
 */
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { createDatabase, startPostgresCluster } from '../test-support/postgres';
import { engineers, engineerTokens, type BenchIdp } from './people';
import { isMain, startTsChild } from './processes';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '32' }, engine: { type: 'string' } },
});
const SECONDS = Number(values.seconds);
const WARMUP_SECONDS = Number(values.warmup);
const CONCURRENCY = Number(values.concurrency);

async function measure(engine: string, database?: string): Promise<number> {
  const server = await startTsChild<{ url: string; tokens: Record<string, string>; idp: BenchIdp }>('bench/bench-server.ts', database ? ['--database', database] : []);
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  try {
    const bob = `Bearer ${server.info.tokens.bob}`;
    // The warm-up signs its requesters' tokens as it goes; the measured run's are signed before it.
    const sign = await engineers(server.info.idp);
    const signed = new Map<number, string>();
    let people = 0;
    const requester = async () => {
      const n = people++;
      return `Bearer ${signed.get(n) ?? (await sign(n))}`;
    };
    const post = async (auth: string, path: string, body: unknown) => {
      const response = await request(`${server.info.url}${path}`, { method: 'POST', dispatcher, headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await response.body.json()) as { request: { id: string; state: string } };
      if (response.statusCode >= 300) throw new Error(`${path} answered ${response.statusCode}: ${JSON.stringify(json)}`);
      return json;
    };
    const pair = async () => {
      const { request: created } = await post(await requester(), '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'bench' });
      const reviewed = await post(bob, `/v1/requests/${created.id}/reviews`, { decision: 'approve' });
      if (reviewed.request.state !== 'active') throw new Error(`request ended ${reviewed.request.state}`);
    };
    /** Pairs from every client until the time is up; each client finishes the pair it is in. */
    const run = async (seconds: number) => {
      const started = performance.now();
      const until = started + seconds * 1000;
      let pairs = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < until) {
          await pair();
          pairs++;
        }
      }));
      return { pairs, seconds: (performance.now() - started) / 1000 };
    };
    const warm = await run(WARMUP_SECONDS); // JIT, token cache, connections
    // Twice the warm-up's rate, and more: running short only means signing some in the run.
    const count = Math.ceil((warm.pairs / warm.seconds) * SECONDS * 2) + 1000;
    (await engineerTokens(server.info.idp, count, people)).forEach((token, i) => signed.set(people + i, token));
    const measured = await run(SECONDS);
    const perSecond = Math.round(measured.pairs / measured.seconds);
    console.log(`create_approve_per_s ${engine}: ${perSecond} (${measured.pairs} pairs in ${measured.seconds.toFixed(1)} s after ${WARMUP_SECONDS} s of warm-up, ${CONCURRENCY} clients)`);
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

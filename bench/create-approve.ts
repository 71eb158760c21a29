/**
 * create_approve_per_s: how many request-create + approve pairs per second one server sustains,
 * over loopback HTTP with real JWT verification, on SQLite and on PostgreSQL.
 * Run alone: npx tsx bench/create-approve.ts [--pairs 2000] [--concurrency 32]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createDatabase, startPostgresCluster } from '../test-support/postgres';
import { CredentialSealer } from '../server/src/access/sealer';
import { devConfig } from '../server/src/dev/catalog';
import { startDevIdp } from '../server/src/dev/idp';
import { startServer } from '../server/src/server';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '32' } } });
const PAIRS = Number(values.pairs);
const CONCURRENCY = Number(values.concurrency);

async function measure(database: string, engine: string, idp: Awaited<ReturnType<typeof startDevIdp>>) {
  const config = { ...devConfig(idp.issuer, 'stint-api'), rateLimit: { perMinute: 0 } };
  const server = await startServer({ config, credentialKey: CredentialSealer.generateKey(), database, devMode: true, logger: pino({ level: 'silent' }) });
  const alice = `Bearer ${await idp.mintAccessToken('alice')}`;
  const bob = `Bearer ${await idp.mintAccessToken('bob')}`;
  const post = async (auth: string, path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await response.json()) as { request: { id: string; state: string } };
    if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(json)}`);
    return json;
  };
  const pair = async () => {
    const { request } = await post(alice, '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'bench' });
    const reviewed = await post(bob, `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
    if (reviewed.request.state !== 'active') throw new Error(`request ended ${reviewed.request.state}`);
  };
  for (let i = 0; i < 50; i++) await pair(); // warm-up: JIT, JWKS cache, connection pools
  let left = PAIRS;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (left-- > 0) await pair();
  }));
  const seconds = (performance.now() - started) / 1000;
  await server.close();
  const perSecond = Math.round(PAIRS / seconds);
  console.log(`create_approve_per_s ${engine}: ${perSecond} (${PAIRS} pairs, concurrency ${CONCURRENCY}, ${seconds.toFixed(1)} s)`);
  return perSecond;
}

export async function benchCreateApprove() {
  const dir = mkdtempSync(join(tmpdir(), 'stint-bench-'));
  const idp = await startDevIdp({ port: 0, dataDir: dir, audience: 'stint-api', groupsClaim: 'groups' });
  const cluster = await startPostgresCluster({ name: 'bench' });
  try {
    const sqlite = await measure(join(dir, 'bench.sqlite'), 'sqlite', idp);
    const db = await createDatabase(cluster.adminUrl);
    const postgres = await measure(db.url, 'postgres', idp);
    return { create_approve_per_s_sqlite: { value: sqlite, unit: 'pairs/s' }, create_approve_per_s_postgres: { value: postgres, unit: 'pairs/s' } };
  } finally {
    await idp.close();
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchCreateApprove(), null, 2));
  process.exit(0);
}

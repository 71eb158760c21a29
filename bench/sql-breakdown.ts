/**
 * Where the SQLite time of a create + approve pair goes, statement by statement: a diagnostic
 * for create_approve_per_s, not a figure (so not in `npm run bench`). The server runs in this
 * process (the dev IdP in its own), every better-sqlite3 statement is timed, and 8 clients make
 * the pairs. Run: npx tsx bench/sql-breakdown.ts [--pairs 1000]
 */
import SQLite from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { CredentialSealer } from '../server/src/access/sealer';
import { devConfig } from '../server/src/dev/catalog';
import { startServer } from '../server/src/server';
import { engineerTokens, type BenchIdp } from './people';
import { startTsChild } from './processes';

const { values } = parseArgs({ options: { pairs: { type: 'string', default: '1000' } } });
const PAIRS = Number(values.pairs);
const CLIENTS = 8;

// Every statement better-sqlite3 prepares from here on is timed, by the start of its SQL.
const timings = new Map<string, { calls: number; ns: bigint }>();
const prototype = SQLite.prototype as unknown as { prepare(this: SQLite.Database, sql: string): SQLite.Statement };
const prepare = prototype.prepare;
prototype.prepare = function (this: SQLite.Database, sql: string) {
  const statement = prepare.call(this, sql);
  const timed = statement as unknown as Record<'run' | 'all' | 'get', (...parameters: unknown[]) => unknown>;
  for (const method of ['run', 'all', 'get'] as const) {
    const original = timed[method].bind(statement);
    timed[method] = (...parameters) => {
      const started = process.hrtime.bigint();
      try {
        return original(...parameters);
      } finally {
        const key = sql.slice(0, 90);
        const entry = timings.get(key) ?? { calls: 0, ns: 0n };
        entry.calls++;
        entry.ns += process.hrtime.bigint() - started;
        timings.set(key, entry);
      }
    };
  }
  return statement;
};

const idp = await startTsChild<BenchIdp & { tokens: Record<string, string> }>('bench/bench-idp.ts');
const server = await startServer({
  config: { ...devConfig(idp.info.issuer, 'stint-api'), rateLimit: { perMinute: 0 } },
  credentialKey: CredentialSealer.generateKey(),
  database: join(mkdtempSync(join(tmpdir(), 'stint-sql-breakdown-')), 'bench.sqlite'),
  devMode: true,
  logger: pino({ level: 'silent' }),
});
const post = async (token: string, path: string, body: unknown) => {
  const response = await fetch(server.url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { request: { id: string } };
};
// Each pair has a requester of its own: one person has one live grant per system.
const requesters = await engineerTokens(idp.info, 80 + PAIRS + 2 * CLIENTS);
const pairs = async (count: number) =>
  Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = 0; i < count / CLIENTS; i++) {
      const { request } = await post(requesters.pop()!, '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'bench' });
      await post(idp.info.tokens.bob!, `/v1/requests/${request.id}/reviews`, { decision: 'approve' });
    }
  }));
await pairs(80); // warm-up
timings.clear();
const started = performance.now();
await pairs(PAIRS);
const wallMs = performance.now() - started;
let totalNs = 0n;
for (const { ns } of timings.values()) totalNs += ns;
console.log(`${PAIRS} pairs in ${wallMs.toFixed(0)} ms (client and server in one process); SQLite ${(Number(totalNs) / 1e3 / PAIRS).toFixed(0)} us per pair:`);
for (const [sql, { calls, ns }] of [...timings].sort((a, b) => Number(b[1].ns - a[1].ns)).slice(0, 25)) {
  console.log(`${(Number(ns) / 1e3 / PAIRS).toFixed(1).padStart(7)} us  ${(calls / PAIRS).toFixed(2).padStart(5)} x  ${sql}`);
}
await server.close();
await idp.stop();
process.exit(0);

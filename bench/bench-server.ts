/**
 * The approval server for load benchmarks, in a process of its own (so the load tool does not
 * share its CPU), with the dev IdP in a third process (bench/bench-idp.ts), as in a deployment:
 * the demo catalog, no rate limit, SQLite or PostgreSQL. Prints one JSON line {url, tokens, idp}
 * once it serves (idp: the IdP's issuer and data folder, see bench/people.ts), and runs until
 * SIGTERM.
 *   npx tsx bench/bench-server.ts [--database URL|PATH]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { CredentialSealer } from '../server/src/access/sealer';
import { devConfig } from '../server/src/dev/catalog';
import { startServer } from '../server/src/server';
import type { BenchIdp } from './people';
import { startTsChild } from './processes';

const { values } = parseArgs({ options: { database: { type: 'string' } } });
const dir = mkdtempSync(join(tmpdir(), 'stint-bench-server-'));
const idp = await startTsChild<BenchIdp & { tokens: Record<string, string> }>('bench/bench-idp.ts');
const config = { ...devConfig(idp.info.issuer, 'stint-api'), rateLimit: { perMinute: 0 } };
const server = await startServer({
  config,
  credentialKey: CredentialSealer.generateKey(),
  database: values.database ?? join(dir, 'bench.sqlite'),
  devMode: true,
  logger: pino({ level: 'silent' }),
});
console.log(JSON.stringify({ url: server.url, tokens: idp.info.tokens, idp: { issuer: idp.info.issuer, dataDir: idp.info.dataDir } }));
process.once('SIGTERM', async () => {
  await server.close();
  await idp.stop();
  process.exit(0);
});

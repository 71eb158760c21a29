/**
 * api_read_ratio_vs_fastify: authenticated `GET /v1/grants` requests per second against a bare
 * Fastify hello-world's, same machine, same load tool (wrk, one thread, 32 connections, 5 s
 * each), each server in its own process. Run alone: npx tsx bench/api-read.ts
 */
import { spawnSync } from 'node:child_process';
import { isMain, startTsChild } from './processes';

function wrk(url: string, headers: string[] = []): number {
  const result = spawnSync('wrk', ['-t1', '-c32', '-d5s', ...headers.flatMap((h) => ['-H', h]), url], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`wrk failed (apt-get install wrk): ${result.stderr}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(result.stdout)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(result.stdout)?.[1];
  if (!rps) throw new Error(`wrk printed no rate:\n${result.stdout}`);
  if (non2xx) throw new Error(`${non2xx} requests were refused, the figure would be meaningless:\n${result.stdout}`);
  return Number(rps);
}

export async function benchApiRead() {
  const hello = await startTsChild<{ url: string }>('bench/hello-fastify.ts');
  let bare: number;
  try {
    wrk(hello.info.url); // warm-up
    bare = wrk(hello.info.url);
  } finally {
    await hello.stop();
  }
  const server = await startTsChild<{ url: string; tokens: Record<string, string> }>('bench/bench-server.ts');
  let stint: number;
  try {
    // alice has a few requests and grants, so the list is not empty: four she released (one
    // person has one live grant per system) and one active.
    const alice = { authorization: `Bearer ${server.info.tokens.alice}`, 'content-type': 'application/json' };
    for (let i = 0; i < 5; i++) {
      const response = await fetch(`${server.info.url}/v1/requests`, { method: 'POST', headers: alice, body: JSON.stringify({ systemId: 'demo-sandbox', durationSeconds: 3600, reason: 'bench' }) });
      const { grant } = (await response.json()) as { grant: { id: string } | null };
      if (response.status !== 201 || !grant) throw new Error(`requesting the sandbox answered ${response.status}`);
      if (i < 4) await fetch(`${server.info.url}/v1/grants/${grant.id}/release`, { method: 'POST', headers: { authorization: alice.authorization } });
    }
    const url = `${server.info.url}/v1/grants?scope=mine`;
    const auth = [`Authorization: Bearer ${server.info.tokens.alice}`];
    wrk(url, auth);
    stint = wrk(url, auth);
  } finally {
    await server.stop();
  }
  const ratio = stint / bare;
  console.log(`GET /v1/grants ${stint.toFixed(0)} req/s, Fastify hello-world ${bare.toFixed(0)} req/s: ratio ${ratio.toFixed(3)}`);
  return {
    api_read_grants_rps: { value: Math.round(stint), unit: 'req/s' },
    api_read_fastify_hello_rps: { value: Math.round(bare), unit: 'req/s' },
    api_read_ratio_vs_fastify: { value: Number(ratio.toFixed(3)), unit: 'ratio' },
  };
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchApiRead(), null, 2));
  process.exit(0);
}

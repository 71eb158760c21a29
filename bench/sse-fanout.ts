/**
 * sse_clients and sse_fanout_p99_ms: how many event-stream clients one server instance holds,
 * and the p99 time for one event to reach all of them. The clients (raw sockets, this process)
 * are all approvers, so a new request is an event every one of them must get; 5 rounds, each
 * request by another engineer (one person has one open request per system).
 * Needs `ulimit -n` above the client count (npm run bench raises it).
 * Run alone: bash -c 'ulimit -n 30000; npx tsx bench/sse-fanout.ts [--clients 10000]'
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { engineerTokens, type BenchIdp } from './people';
import { isMain, percentile, startTsChild } from './processes';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '5' } } });

interface Client {
  socket: net.Socket;
  connected: boolean;
  buffer: string;
}

export async function benchSseFanout(clients = Number(values.clients), rounds = Number(values.rounds)) {
  const server = await startTsChild<{ url: string; tokens: Record<string, string>; idp: BenchIdp }>('bench/bench-server.ts');
  const { port } = new URL(server.info.url);
  const all: Client[] = [];
  try {
    const head = `GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${server.info.tokens.bob}\r\nAccept: text/event-stream\r\n\r\n`;
    const connectStarted = performance.now();
    // In waves, as a fleet of laptops coming online would (and within the accept backlog).
    for (let i = 0; i < clients; i += 250) {
      await Promise.all(Array.from({ length: Math.min(250, clients - i) }, () => new Promise<void>((resolve, reject) => {
        const client: Client = { socket: net.connect(Number(port), '127.0.0.1'), connected: false, buffer: '' };
        client.socket.setEncoding('utf8');
        client.socket.once('error', reject);
        client.socket.write(head);
        client.socket.on('data', (chunk: string) => {
          client.buffer += chunk;
          if (!client.connected && client.buffer.includes('retry: 2000')) {
            client.connected = true;
            if (!client.buffer.startsWith('HTTP/1.1 200')) reject(new Error(`stream refused: ${client.buffer.slice(0, 200)}`));
            else resolve();
          }
          // Keep memory flat: only the tail can hold a marker that is still arriving.
          if (client.buffer.length > 4096) client.buffer = client.buffer.slice(-2048);
        });
        all.push(client);
      })));
    }
    const connected = all.filter((c) => c.connected).length;
    console.log(`${connected} SSE clients connected in ${((performance.now() - connectStarted) / 1000).toFixed(1)} s`);

    const requesters = await engineerTokens(server.info.idp, rounds);
    const delays: number[] = [];
    let reachedAll = 0;
    let fewestReached = Infinity;
    for (let round = 0; round < rounds; round++) {
      const marker = `fanout-${round}-${Math.random().toString(36).slice(2, 10)}`;
      const arrived = new Array<number>(all.length).fill(0);
      let count = 0;
      const done = new Promise<void>((resolve) => {
        all.forEach((client, index) => {
          const listener = (chunk: string) => {
            if (!arrived[index] && chunk.includes(marker)) {
              arrived[index] = performance.now();
              client.socket.off('data', listener);
              if (++count === all.length) resolve();
            }
          };
          client.socket.on('data', listener);
        });
      });
      const sent = performance.now();
      const response = await fetch(`${server.info.url}/v1/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${requesters[round]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ systemId: 'staging-db', durationSeconds: 900, reason: marker }),
      });
      if (response.status !== 201) throw new Error(`creating the request answered ${response.status}`);
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      if (count === all.length) reachedAll++;
      fewestReached = Math.min(fewestReached, count);
      for (const at of arrived) if (at) delays.push(at - sent);
      console.log(`round ${round + 1}: ${count}/${all.length} clients got the event; slowest ${(Math.max(...arrived) - sent).toFixed(0)} ms`);
    }
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    console.log(`sse fan-out to ${connected} clients: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms (${reachedAll}/${rounds} rounds reached everyone)`);
    return {
      // Clients held: connected, and reached by the event in the worst round.
      sse_clients: { value: Math.min(connected, fewestReached), unit: 'clients' },
      sse_fanout_p50_ms: { value: Math.round(p50), unit: 'ms' },
      sse_fanout_p99_ms: { value: Math.round(p99), unit: 'ms' },
    };
  } finally {
    for (const client of all) client.socket.destroy();
    await server.stop();
  }
}

if (isMain(import.meta.url)) {
  console.log(JSON.stringify(await benchSseFanout(), null, 2));
  process.exit(0);
}

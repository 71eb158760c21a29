import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { AuditEntry } from '@stint/contract';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINES, testDatabase } from '../../test/harness';
import { openStore, type Store } from '../store/database';
import { appendAudit } from './chain';
import { AuditSink, AuditSinkConfig, auditSinkOf, backoffMs, httpTransport, syslogMessage, syslogTransport, SINK_LEASE_MS } from './sink';

const log = pino({ level: process.env.STINT_TEST_LOG ?? 'silent' });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function store(engine: 'sqlite' | 'postgres' = 'sqlite'): Promise<Store> {
  const db = await testDatabase(engine);
  const opened = await openStore(db.location);
  cleanup.push(async () => {
    await opened.close();
    await db.drop();
  });
  return opened;
}

async function append(s: Store, count: number, at = Date.now()) {
  for (let i = 0; i < count; i++) {
    await s.db.transaction().execute((trx) => appendAudit(s, trx, at, [{ actor: 'ann', action: 'request.created', targetType: 'request', targetId: `r${i}`, detail: { systemId: 'prod-db', note: 'say "hi" ]' } }]));
  }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fast = { pollMs: 50, retry: { initialMs: 20, maxMs: 200 } };

/** A collector: answers each POST as `answer` says, and keeps the seqs of the batches it took. */
async function collector(answer: (batch: number[], req: IncomingMessage) => 'ok' | 'fail' | 'hang' = () => 'ok') {
  const accepted: number[][] = [];
  const seen: { headers: IncomingMessage['headers']; seqs: number[] }[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const seqs = body.trim().split('\n').map((line) => (JSON.parse(line) as AuditEntry).seq);
      seen.push({ headers: req.headers, seqs });
      const what = answer(seqs, req);
      if (what === 'hang') return void hanging.push(res);
      if (what === 'fail') return void res.writeHead(503).end('down');
      accepted.push(seqs);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`, accepted, seen };
}

describe('auditSink configuration', () => {
  it('is checked with clear messages', () => {
    expect(auditSinkOf({})).toBeNull();
    expect(auditSinkOf({ auditSink: { type: 'syslog', host: 'siem.example', protocol: 'udp' } })).toMatchObject({ port: 514, facility: 13, framing: 'octet-counting', name: 'default', startAt: 'oldest', batchSize: 100 });
    expect(() => auditSinkOf({ auditSink: { type: 'http', url: 'http://siem.example/in' } })).toThrow(/url: must be an https:\/\/ URL/);
    expect(() => auditSinkOf({ auditSink: { type: 'http', url: 'https://siem.example/in', headers: { Authorization: 'Bearer abc' } } })).toThrow(/headers\.Authorization: looks like a secret/);
    expect(() => auditSinkOf({ auditSink: { type: 'http', url: 'https://siem.example/in', headers: { Authorization: { file: 'token.txt' } } } })).toThrow(/an absolute path/);
    expect(() => auditSinkOf({ auditSink: { type: 'kafka' } })).toThrow(/give type: http or syslog/);
    expect(() => auditSinkOf({ auditSink: { type: 'syslog', host: 'h', protocol: 'udp', colour: 'red' } })).toThrow(/colour/);
    expect(AuditSinkConfig.parse({ type: 'http', url: 'http://127.0.0.1:9/x', headers: { 'X-Scope': 'stint', Authorization: { env: 'SIEM_TOKEN' } } }).type).toBe('http');
  });

  it('backs off doubling, up to the maximum', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffMs(n, { initialMs: 1000, maxMs: 5000 }))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe('syslog messages', () => {
  const entry: AuditEntry = { seq: 7, at: '2026-11-02T09:00:00.000Z', actor: 'ann', action: 'request.created', targetType: 'request', targetId: 'r1', detail: { reason: 'line\nbreak', big: 'x' }, prevHash: 'a'.repeat(64), hash: 'b'.repeat(64) };

  it('are RFC 5424 with the row as JSON, on one line', () => {
    const message = syslogMessage(entry, { facility: 13, appName: 'stint', host: 'db host' });
    expect(message).toMatch(new RegExp(`^<110>1 2026-11-02T09:00:00.000Z db_host stint ${process.pid} request.created \\[stint@32473 seq="7" hash="b{64}"\\] \\{`));
    expect(message).not.toContain('\n');
    expect(JSON.parse(message.slice(message.indexOf('] ') + 2))).toEqual(entry);
  });

  it('leave a too-big detail out, naming the row', () => {
    const message = syslogMessage({ ...entry, detail: { big: 'x'.repeat(70_000) } }, { facility: 13, appName: 'stint', host: 'h', maxBytes: 60_000 });
    expect(JSON.parse(message.slice(message.indexOf('] ') + 2))).toMatchObject({ seq: 7, hash: entry.hash, detail: { truncated: true } });
  });
});

describe.each(ENGINES)('HTTP sink on %s', (engine) => {
  it('delivers in order, retries while the collector fails, and loses nothing across a restart', async () => {
    const s = await store(engine);
    await append(s, 25);
    let failures = 2;
    let hangOnce = true;
    const sink = await collector((seqs) => {
      if (failures > 0) return (failures--, 'fail');
      // The batch after the first is in flight when the server stops.
      if (seqs[0] === 11 && hangOnce) return (hangOnce = false, 'hang');
      return 'ok';
    });
    const config = AuditSinkConfig.parse({ type: 'http', url: sink.url, batchSize: 10, headers: { 'X-Scope': 'stint' }, ...fast });
    const first = new AuditSink({ db: s.db, now: Date.now, log }, config, httpTransport(config as Extract<AuditSinkConfig, { type: 'http' }>));
    first.start();
    await until(() => sink.seen.some((b) => b.seqs[0] === 11), 'the second batch');
    expect(sink.accepted).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]);
    expect(sink.seen.slice(0, 3).map((b) => b.seqs[0])).toEqual([1, 1, 1]);
    expect(sink.seen[0]!.headers).toMatchObject({ 'content-type': 'application/x-ndjson', 'x-scope': 'stint', 'stint-audit-first-seq': '1', 'stint-audit-last-seq': '10' });
    await first.stop();
    const cursor = await s.db.selectFrom('audit_sink_cursor').selectAll().executeTakeFirstOrThrow();
    expect(cursor).toMatchObject({ sink: 'default', delivered_seq: 10, lease_owner: null });

    // Rows written while the server was down, then a new process.
    await append(s, 5);
    const second = new AuditSink({ db: s.db, now: Date.now, log }, config, httpTransport(config as Extract<AuditSinkConfig, { type: 'http' }>));
    second.start();
    // Accepted is not yet delivered: the cursor moves once the answer is back.
    const cursorAt = async () => Number((await s.db.selectFrom('audit_sink_cursor').select('delivered_seq').executeTakeFirstOrThrow()).delivered_seq);
    await until(async () => (await cursorAt()) === 30, 'the cursor at row 30');
    await second.stop();
    expect(sink.accepted).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
      [21, 22, 23, 24, 25, 26, 27, 28, 29, 30],
    ]);
    expect(await cursorAt()).toBe(30);
  });
});

describe('delivery cursor', () => {
  it('lets one process deliver at a time; a crashed one is taken over once its lease lapses', async () => {
    const s = await store();
    await append(s, 3);
    const sink = await collector();
    const config = AuditSinkConfig.parse({ type: 'http', url: sink.url, ...fast });
    const transport = () => httpTransport(config as Extract<AuditSinkConfig, { type: 'http' }>);
    let now = Date.parse('2026-11-02T00:00:00Z');
    const a = new AuditSink({ db: s.db, now: () => now, log, owner: 'replica-a' }, config, transport());
    const b = new AuditSink({ db: s.db, now: () => now, log, owner: 'replica-b' }, config, transport());
    expect(await a.deliverOnce()).toBe(3);
    await append(s, 2);
    // b finds the cursor leased by a, which "crashed" (never stops).
    expect(await b.deliverOnce()).toBe(0);
    now += SINK_LEASE_MS + 1;
    expect(await b.deliverOnce()).toBe(2);
    expect(sink.accepted).toEqual([[1, 2, 3], [4, 5]]);
    // a comes back and finds b holding it.
    await append(s, 1);
    expect(await a.deliverOnce()).toBe(0);
    expect(await b.deliverOnce()).toBe(1);
  });

  it('starts after the latest row when asked to', async () => {
    const s = await store();
    await append(s, 4);
    const sink = await collector();
    const config = AuditSinkConfig.parse({ type: 'http', url: sink.url, startAt: 'latest', name: 'siem-2', ...fast });
    const a = new AuditSink({ db: s.db, now: Date.now, log }, config, httpTransport(config as Extract<AuditSinkConfig, { type: 'http' }>));
    expect(await a.deliverOnce()).toBe(0);
    await append(s, 1);
    expect(await a.deliverOnce()).toBe(1);
    expect(sink.accepted).toEqual([[5]]);
  });
});

describe('syslog sinks', () => {
  it('deliver every row over UDP, across a restart', async () => {
    const s = await store();
    await append(s, 12);
    const got: string[] = [];
    const listener = dgram.createSocket('udp4');
    listener.on('message', (message) => got.push(message.toString()));
    await new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', resolve));
    cleanup.push(async () => void listener.close());
    const config = AuditSinkConfig.parse({ type: 'syslog', host: '127.0.0.1', port: listener.address().port, protocol: 'udp', batchSize: 5, ...fast });
    const make = () => new AuditSink({ db: s.db, now: Date.now, log }, config, syslogTransport(config as Extract<AuditSinkConfig, { type: 'syslog' }>));
    const first = make();
    first.start();
    await until(() => got.length >= 12, '12 datagrams');
    await first.stop();
    await append(s, 3);
    const second = make();
    second.start();
    await until(() => got.length >= 15, '15 datagrams');
    await second.stop();
    const seqs = got.map((m) => Number(/seq="(\d+)"/.exec(m)![1]));
    expect(seqs).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(got[0]).toMatch(/^<110>1 \S+ \S+ stint \d+ request.created \[stint@32473 seq="1" /);
  });

  it('deliver over TCP with octet counting, and wait out a listener that went away', async () => {
    const s = await store();
    await append(s, 8);
    const frames: string[] = [];
    let buffered = '';
    const sockets = new Set<net.Socket>();
    const listen = (port = 0) =>
      new Promise<net.Server>((resolve) => {
        const server = net.createServer((socket) => {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('data', (chunk) => {
            buffered += chunk.toString();
            // RFC 6587 octet counting: "LEN SP MSG", LEN in bytes (the messages here are ASCII).
            for (let m = /^(\d+) /.exec(buffered); m && buffered.length >= m[0].length + Number(m[1]); m = /^(\d+) /.exec(buffered)) {
              frames.push(buffered.slice(m[0].length, m[0].length + Number(m[1])));
              buffered = buffered.slice(m[0].length + Number(m[1]));
            }
          });
        });
        server.listen(port, '127.0.0.1', () => resolve(server));
      });
    let server = await listen();
    const port = (server.address() as AddressInfo).port;
    const config = AuditSinkConfig.parse({ type: 'syslog', host: '127.0.0.1', port, protocol: 'tcp', batchSize: 4, ...fast });
    const sink = new AuditSink({ db: s.db, now: Date.now, log }, config, syslogTransport(config as Extract<AuditSinkConfig, { type: 'syslog' }>));
    sink.start();
    cleanup.push(() => sink.stop());
    await until(() => frames.length >= 8, '8 frames');

    // The collector restarts: its connections drop, and while it is away nothing is accepted.
    await new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    await new Promise((r) => setTimeout(r, 100));
    await append(s, 4);
    await new Promise((r) => setTimeout(r, 200));
    server = await listen(port);
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    );
    await until(() => frames.some((f) => f.includes('seq="12"')), 'row 12');
    const seqs = frames.map((f) => Number(/seq="(\d+)"/.exec(f)![1]));
    // At least once, in order: every row, none skipped, first seen in order (a batch written into a dying connection may come twice).
    expect([...new Set(seqs)]).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});

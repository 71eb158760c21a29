import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StintEventEnvelope } from '@stint/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from './events';

const request = (id: string) => ({
  id: crypto.randomUUID(),
  systemId: 'prod-db',
  requester: { sub: 'alice', name: null, email: null },
  durationSeconds: 60,
  reason: id,
  ticket: null,
  breakGlass: false,
  extendsGrantId: null,
  state: 'pending' as const,
  approvalsRequired: 1,
  approverGroups: ['sre-leads'],
  reviews: [],
  flaggedForReview: false,
  createdAt: '2026-11-24T10:00:00.000Z',
  updatedAt: '2026-11-24T10:00:00.000Z',
  pendingExpiresAt: '2026-11-24T11:00:00.000Z',
  grantId: null,
});
const frame = (id: string) => `id: ${id}\nevent: review.requested\ndata: ${JSON.stringify({ id, at: '2026-11-24T10:00:00.000Z', event: { type: 'review.requested', request: request(id) } })}\n\n`;

/** A tiny SSE server that records each connection's Last-Event-ID and can drop the stream. */
async function sseServer() {
  const connections: { lastEventId: string | undefined; auth: string | undefined; res: ServerResponse }[] = [];
  const server = createServer((req, res) => {
    if (req.headers.authorization === 'Bearer expired') {
      res.writeHead(401).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
    connections.push({ lastEventId: req.headers['last-event-id'] as string | undefined, auth: req.headers.authorization, res });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`, connections, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

let stop: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stop) await s();
  stop = [];
});
const until = async (check: () => boolean) => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('event stream', () => {
  it('reconnects after a drop, resumes with Last-Event-ID, and re-reads state each time', async () => {
    const server = await sseServer();
    const received: StintEventEnvelope[] = [];
    const connected: boolean[] = [];
    const stream = new EventStream({
      url: server.url,
      accessToken: async () => 'good',
      onUnauthorized: async () => false,
      onEvent: (e) => void received.push(e),
      onConnected: (resumed) => void connected.push(resumed),
      onStatus: () => {},
      backoffMs: { min: 20, max: 100 },
    });
    stop.push(() => stream.stop(), server.close);
    stream.start();
    await until(() => server.connections.length === 1);
    server.connections[0]!.res.write(frame('41') + frame('42'));
    await until(() => received.length === 2);
    server.connections[0]!.res.destroy(); // the network drops
    await until(() => server.connections.length === 2 && connected.length === 2);
    expect(server.connections[1]!.lastEventId).toBe('42');
    expect(connected).toEqual([false, true]);
    server.connections[1]!.res.write(frame('43'));
    await until(() => received.length === 3);
    expect(received.map((e) => e.id)).toEqual(['41', '42', '43']);
  });

  it('reconnects with a fresh token when the server ends the stream at its token\'s expiry, quietly', async () => {
    const server = await sseServer();
    const warnings: string[] = [];
    let token = 0;
    const stream = new EventStream({
      url: server.url,
      accessToken: async () => `token-${++token}`,
      onUnauthorized: async () => false,
      onEvent: () => {},
      onConnected: () => {},
      onStatus: () => {},
      onWarning: (w) => void warnings.push(w),
      backoffMs: { min: 10, max: 50 },
    });
    stop.push(() => stream.stop(), server.close);
    stream.start();
    await until(() => server.connections.length === 1);
    server.connections[0]!.res.end('event: reauthenticate\ndata: {"reason":"token_expired","message":"Your access token expired; reconnect with a fresh one."}\n\n');
    await until(() => server.connections.length === 2);
    expect(server.connections.map((c) => c.auth)).toEqual(['Bearer token-1', 'Bearer token-2']);
    expect(warnings).toEqual([]); // an event it knows, not "one this app does not understand"
  });

  it('reopens a stream that went silent (no event, no heartbeat)', async () => {
    const server = await sseServer();
    const stream = new EventStream({
      url: server.url,
      accessToken: async () => 'good',
      onUnauthorized: async () => false,
      onEvent: () => {},
      onConnected: () => {},
      onStatus: () => {},
      backoffMs: { min: 10, max: 50 },
      idleTimeoutMs: 150,
    });
    stop.push(() => stream.stop(), server.close);
    stream.start();
    await until(() => server.connections.length >= 2);
  });

  it('asks for a fresh token once on 401, then uses it', async () => {
    const server = await sseServer();
    let token = 'expired';
    let refreshes = 0;
    const stream = new EventStream({
      url: server.url,
      accessToken: async () => token,
      onUnauthorized: async () => {
        refreshes++;
        token = 'fresh';
        return true;
      },
      onEvent: () => {},
      onConnected: () => {},
      onStatus: () => {},
      backoffMs: { min: 10, max: 50 },
    });
    stop.push(() => stream.stop(), server.close);
    stream.start();
    await until(() => server.connections.length === 1);
    expect(server.connections[0]!.auth).toBe('Bearer fresh');
    expect(refreshes).toBe(1);
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessRequest } from '../../../test-support/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from './client';

/**
 * Test double of the approval server for the API client alone (not the vault): it answers each
 * call with the next scripted reply and records what the client sent. The real server is in the
 * core, CLI and e2e suites.
 */
class ScriptedServer {
  readonly seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  private server: Server | null = null;
  constructor(private readonly replies: ((res: ServerResponse) => void)[]) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        this.seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        const reply = this.replies.shift();
        if (reply) reply(res);
        else json(500, { error: 'internal', message: 'no reply scripted' })(res);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const json = (status: number, body: unknown) => (res: ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
/** The connection dies before any answer: what a restarting server or a flaky network does. */
const hangUp = (res: ServerResponse) => res.socket?.destroy();

const request = accessRequest({
  id: '7d3f1e52-0000-4000-8000-000000000001',
  reason: 'fix',
  createdAt: '2026-11-30T10:00:00.000Z',
  updatedAt: '2026-11-30T10:00:00.000Z',
  pendingExpiresAt: '2026-11-30T10:30:00.000Z',
});

let double: ScriptedServer | null = null;
afterEach(async () => {
  await double?.close();
  double = null;
});

async function clientFor(replies: ((res: ServerResponse) => void)[], extra: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}) {
  double = new ScriptedServer(replies);
  const baseUrl = await double.start();
  return new ApiClient({ baseUrl, accessToken: async () => 'token-1', retryDelaysMs: [5, 5, 5], ...extra });
}

describe('the API client', () => {
  it('retries request creation through a 503 and a dropped connection with one Idempotency-Key', async () => {
    const client = await clientFor([json(503, { error: 'unavailable', message: 'restarting' }), hangUp, json(201, { request, grant: null })]);
    const created = await client.createRequest({ systemId: 'prod-db', durationSeconds: 900, reason: 'fix' });
    expect(created.request.id).toBe(request.id);
    expect(double!.seen).toHaveLength(3);
    const keys = new Set(double!.seen.map((s) => s.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(double!.seen.every((s) => s.headers.authorization === 'Bearer token-1')).toBe(true);
  });

  it('does not retry a review (not idempotent) and passes the server’s own message on', async () => {
    const client = await clientFor([json(503, { error: 'unavailable', message: 'The server is restarting; try again in a moment.' }), json(200, { request, grant: null })]);
    const error = await client.review(request.id, { decision: 'approve' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, code: 'unavailable', message: 'The server is restarting; try again in a moment.' });
    expect(double!.seen).toHaveLength(1);
  });

  it('refuses an answer that does not match the contract, saying what to do', async () => {
    const client = await clientFor([json(200, { request: { ...request, state: 'teleported' }, grant: null })]);
    await expect(client.cancel(request.id)).rejects.toMatchObject({ code: 'bad_response', message: expect.stringMatching(/does not understand .* update Stint/) });
  });

  it('refreshes once on a 401 and repeats the call with the new token', async () => {
    let token = 'stale';
    const client = await clientFor([json(401, { error: 'unauthorized', message: 'expired' }), json(200, { sub: 'alice', name: null, email: null, groups: [], isAdmin: false, isAuditor: false })], {
      accessToken: async () => token,
      onUnauthorized: async () => {
        token = 'fresh';
        return true;
      },
    });
    expect((await client.me()).sub).toBe('alice');
    expect(double!.seen.map((s) => s.headers.authorization)).toEqual(['Bearer stale', 'Bearer fresh']);
  });

  it('names the server it cannot reach, after its retries', async () => {
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:9', accessToken: async () => 't', retryDelaysMs: [1, 1] });
    await expect(client.systems()).rejects.toMatchObject({ code: 'unreachable', message: expect.stringMatching(/^Cannot reach the Stint server at http:\/\/127\.0\.0\.1:9 .*check your connection/) });
  });

  it('does not call the server at all when signed out', async () => {
    const client = await clientFor([], { accessToken: async () => null });
    await expect(client.grants()).rejects.toMatchObject({ status: 401, code: 'signed_out' });
    expect(double!.seen).toEqual([]);
  });
});

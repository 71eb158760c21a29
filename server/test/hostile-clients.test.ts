// Clients that do not play along (issue 20.4): one that sends its headers or its body slowly is
// cut off instead of holding a connection for ever; an address that keeps sending bad tokens is
// told to wait before its next token is even checked. The oversize-body case (issue 20.5) is a
// guard only: on loopback the client reads its 413 with or without a change (a reset mid-upload
// was not reproduced here, from 128 KiB to 4 MiB with fetch and with node:http).
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../src/http/app';
import { startHarness, type Harness } from './harness';

/** Opens a raw connection, writes `text`, and resolves with what the server said and when it closed. */
function rawExchange(url: string, text: string): Promise<{ said: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname, () => socket.write(text));
    let said = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (said += chunk));
    socket.on('close', () => resolve({ said, closedAfterMs: Date.now() - started }));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 20 s; the server said: ${said}`));
    }, 20_000).unref();
  });
}

describe('hostile clients', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      engine: 'sqlite',
      config: (c) => ({ ...c, http: { ...c.http, headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, unauthenticatedPerMinute: 5 } }),
    });
  }, 60_000);
  afterAll(() => h?.close());

  it('cuts off a client that never finishes its headers', async () => {
    const { said, closedAfterMs } = await rawExchange(h.server.url, 'GET /v1/grants HTTP/1.1\r\nHost: stint\r\nAuthorization: Bearer x');
    expect(said).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(10_000);
  });

  it('cuts off a client that never finishes its body', async () => {
    const token = await h.token('alice');
    const head = `POST /v1/requests HTTP/1.1\r\nHost: stint\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"systemId":`;
    const { said, closedAfterMs } = await rawExchange(h.server.url, head);
    expect(said).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(10_000);
    // Nothing was created from the half a request.
    expect((await h.api('alice', 'GET', '/v1/requests?scope=mine')).body.requests).toEqual([]);
  });

  it('tells an address that keeps sending bad tokens to wait, before checking a new one; a token it verified before still works', async () => {
    expect((await h.api('alice', 'GET', '/v1/grants')).status).toBe(200); // alice's token, verified once
    const bad = () => fetch(`${h.server.url}/v1/grants`, { headers: { authorization: 'Bearer not-a-token' } });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await bad()).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const refused = await bad();
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/without a valid token from this address; retry in \d+ s/) });
    // From the same address (127.0.0.1): alice, behind the same office NAT, is not locked out; a
    // token not seen before waits with the rest.
    expect((await h.api('alice', 'GET', '/v1/grants')).status).toBe(200);
    expect((await h.api('carol', 'GET', '/v1/grants')).status).toBe(429);
    h.clock.advance(61_000);
    expect((await h.api('carol', 'GET', '/v1/grants')).status).toBe(200);
  });

  it('answers an oversize body with a 413 the client can read, not a reset mid-upload', async () => {
    const token = await h.token('bob');
    // fetch (undici) reports a connection closed under its upload as an error, not the answer.
    for (const size of [BODY_LIMIT_BYTES * 2, BODY_LIMIT_BYTES * 64]) {
      const answer = await fetch(`${h.server.url}/v1/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ systemId: 'demo-sandbox', durationSeconds: 60, reason: 'x'.repeat(size) }),
      });
      expect(answer.status, `${size} bytes`).toBe(413);
      expect(await answer.json()).toMatchObject({ error: 'body_too_large', message: 'The body is larger than 64 KiB; send less.' });
    }
  });
});

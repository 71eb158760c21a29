import { join } from 'node:path';
import fc from 'fast-check';
import { CreateRequestBody, ReviewBody } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE, ENGINES, forgeToken, startHarness, type Harness } from './harness';

/** What a JSON body becomes once sent (undefined members vanish), which is what the server judges. */
const onTheWire = (body: unknown): unknown => JSON.parse(JSON.stringify(body) ?? 'null');

const prodRequest = { systemId: 'prod-db', durationSeconds: 900, reason: 'fix', ticket: 'OPS-1' };

describe.each(ENGINES)('authentication and authorization on %s', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ engine, config: (c) => ({ ...c, rateLimit: { perMinute: 0 } }) });
  });
  afterAll(async () => h?.close());

  const forge = (claims: Record<string, unknown>, options: { exp?: number; nbf?: number; aud?: string; iss?: string } = {}) =>
    forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['sre-leads', 'stint-admins'], ...claims }, options);
  const withToken = async (token: string) =>
    (await fetch(`${h.server.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } }));

  it('refuses a missing or malformed token with 401 and says how to fix it', async () => {
    const none = await h.api(null, 'GET', '/v1/me');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: 'unauthorized', message: expect.stringMatching(/Authorization: Bearer/) });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const junk = await withToken('not.a.jwt');
    expect(junk.status).toBe(401);
  });

  it('refuses expired tokens, other audiences, other issuers and foreign keys', async () => {
    expect((await withToken(await forge({}))).status).toBe(200);
    const expired = await withToken(await forge({}, { exp: Math.floor(Date.now() / 1000) - 60 }));
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
    const aud = await withToken(await forge({}, { aud: 'another-api' }));
    expect(((await aud.json()) as { message: string }).message).toMatch(/"aud" claim/);
    expect((await withToken(await forge({}, { iss: 'https://evil.example' }))).status).toBe(401);
    // Not valid yet (nbf a minute ahead, past any clock-skew allowance).
    const early = await withToken(await forge({}, { nbf: Math.floor(Date.now() / 1000) + 600 }));
    expect(early.status).toBe(401);
    expect(((await early.json()) as { message: string }).message).toMatch(/"nbf" claim/);
    // The right issuer, audience and key id, but claims changed after signing: the signature
    // no longer matches (here: a groups claim raised to admin).
    const genuine = await h.token('alice');
    const [header, payload, signature] = genuine.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { groups: string[] };
    const raised = Buffer.from(JSON.stringify({ ...claims, groups: [...claims.groups, 'stint-admins'] })).toString('base64url');
    const tampered = await withToken(`${header}.${raised}.${signature}`);
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { message: string }).message).toMatch(/signature/i);
    expect((await withToken(genuine)).status).toBe(200);
    // A token from a different identity provider, whose keys the server does not trust.
    const { startDevIdp } = await import('../src/dev/idp');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const other = await startDevIdp({ port: 0, dataDir: mkdtempSync(join(tmpdir(), 'stint-other-idp-')), audience: AUDIENCE, groupsClaim: 'groups' });
    try {
      const foreign = await withToken(await other.mintAccessToken('dana'));
      expect(foreign.status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('tells desktop apps where to sign in, without a token', async () => {
    const config = await h.api(null, 'GET', '/v1/client-config');
    expect(config.body).toEqual({ issuer: h.idp.issuer, clientId: 'stint-desktop', scopes: expect.arrayContaining(['openid', 'offline_access']), authorizationParams: {}, redirectPorts: [], clientSecretRequired: false, sendIdToken: false });
  });

  it('reads identity and groups from the token', async () => {
    const me = await h.api('bob', 'GET', '/v1/me');
    expect(me.body).toMatchObject({ sub: 'bob', groups: ['engineering', 'sre-leads'], isAdmin: false });
    expect((await h.api('dana', 'GET', '/v1/me')).body).toMatchObject({ isAdmin: true, isAuditor: true });
  });

  it('never lets a requester approve their own request, nor a non-approver approve', async () => {
    const own = await h.api('bob', 'POST', '/v1/requests', { systemId: 'payments-admin', durationSeconds: 900, reason: 'x' });
    const selfReview = await h.api('bob', 'POST', `/v1/requests/${own.body.request.id}/reviews`, { decision: 'approve' });
    expect(selfReview.status).toBe(403);
    expect(selfReview.body.error).toBe('own_request');
    const theirs = await h.api('alice', 'POST', '/v1/requests', prodRequest);
    const byAdmin = await h.api('dana', 'POST', `/v1/requests/${theirs.body.request.id}/reviews`, { decision: 'approve' });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.body.error).toBe('not_an_approver');
    expect((await h.api('alice', 'GET', `/v1/requests/${theirs.body.request.id}`)).body.request.reviews).toEqual([]);
  });

  it('hides other people’s requests, grants and credentials', async () => {
    const theirs = await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
    const { id } = theirs.body.request;
    const grantId = theirs.body.grant.id;
    const other = await h.api('dana', 'GET', `/v1/requests/${id}`); // dana is an auditor: may see
    expect(other.status).toBe(200);
    // carol approves nothing for the sandbox and is not its requester.
    expect((await h.api('carol', 'GET', `/v1/requests/${id}`)).status).toBe(404);
    expect((await h.api('bob', 'GET', `/v1/grants/${grantId}/credential`)).status).toBe(404);
    expect((await h.api('dana', 'GET', `/v1/grants/${grantId}/credential`)).status).toBe(404);
    expect((await h.api('bob', 'GET', '/v1/requests?scope=all')).status).toBe(403);
    expect((await h.api('alice', 'GET', '/v1/audit')).status).toBe(403);
    expect((await h.api('carol', 'GET', '/v1/requests?scope=mine')).body.requests.map((r: { id: string }) => r.id)).not.toContain(id);
  });

  it('lets two approvers race on one request and activates it once', async () => {
    for (let round = 0; round < 5; round++) {
      // A new requester each round: the last round's grant is still live.
      const { body } = await h.api(await h.person(`racer-${round}`), 'POST', '/v1/requests', prodRequest);
      const results = await Promise.all(['bob', 'carol'].map((who) => h.api(who, 'POST', `/v1/requests/${body.request.id}/reviews`, { decision: 'approve' })));
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const grants = await h.server.store.db.selectFrom('grants').select('id').where('request_id', '=', body.request.id).execute();
      expect(grants).toHaveLength(1);
    }
  });

  it('honours Idempotency-Key: a retry returns the same request, a different body is refused', async () => {
    const key = `key-${crypto.randomUUID()}`;
    const headers = { 'idempotency-key': key };
    const retrier = await h.person('retrier');
    const [first, twin] = await Promise.all([
      h.api(retrier, 'POST', '/v1/requests', prodRequest, headers),
      h.api(retrier, 'POST', '/v1/requests', prodRequest, headers),
    ]);
    expect(first.body.request.id).toBe(twin.body.request.id);
    const retry = await h.api(retrier, 'POST', '/v1/requests', prodRequest, headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.body.request.id).toBe(first.body.request.id);
    const reused = await h.api(retrier, 'POST', '/v1/requests', { ...prodRequest, reason: 'other' }, headers);
    expect(reused.status).toBe(422);
    // Keys are per person: the same key from bob is a different request.
    const bobs = await h.api('bob', 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 600 }, headers);
    expect(bobs.status).toBe(201);
  });

  it('answers bad input with 4xx {error, message} and changes nothing', async () => {
    const count = async () => Number((await h.server.store.db.selectFrom('requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    const bad = [
      await h.api('alice', 'POST', '/v1/requests', '{"systemId": "prod-db",'),
      await h.api('alice', 'POST', '/v1/requests', { ...prodRequest, durationSeconds: 'long' }),
      await h.api('alice', 'POST', '/v1/requests', { ...prodRequest, admin: true }),
      await h.api('alice', 'POST', '/v1/requests', { ...prodRequest, reason: 'x'.repeat(70_000) }),
      await h.api('alice', 'POST', '/v1/requests', { ...prodRequest, systemId: 'nope' }),
      await h.api('alice', 'GET', '/v1/requests/not-a-uuid'),
      await h.api('alice', 'GET', `/v1/requests/${crypto.randomUUID()}`),
      await h.api('alice', 'GET', '/v1/requests?scope=everything'),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 413, 404, 400, 404, 400]);
    for (const r of bad) expect(r.body).toEqual(expect.objectContaining({ error: expect.any(String), message: expect.any(String) }));
    expect(bad[1]!.body.details).toContainEqual(expect.objectContaining({ path: 'durationSeconds' }));
    expect(bad[2]!.body.message).toMatch(/admin/);
    expect(await count()).toBe(before);
  });

  it('never answers 5xx to arbitrary request bodies, and only valid ones create anything', async () => {
    const count = async () => (await h.server.store.db.selectFrom('requests').select('id').execute()).length;
    // Bodies alice may send for staging-db (pending, no ticket needed), and arbitrary ones.
    const valid = fc.record(
      { systemId: fc.constant('staging-db'), durationSeconds: fc.integer({ min: 1, max: 8 * 3600 }), reason: fc.string({ maxLength: 50 }), breakGlass: fc.constant(false) },
      { requiredKeys: ['systemId', 'durationSeconds'] },
    );
    const arbitrary = fc.record(
      {
        systemId: fc.oneof(fc.constantFrom('prod-db', 'staging-db', 'nope'), fc.string()),
        durationSeconds: fc.oneof(fc.integer({ min: -10, max: 10 ** 7 }), fc.double(), fc.string()),
        reason: fc.oneof(fc.string({ maxLength: 50 }), fc.integer()),
        ticket: fc.string({ maxLength: 10 }),
        breakGlass: fc.oneof(fc.boolean(), fc.string()),
        extra: fc.anything(),
      },
      { requiredKeys: [] },
    );
    const outcomes = { created: 0, refused: 0 };
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(valid, arbitrary), async (body) => {
        const before = await count();
        // Someone new every run, so a valid body is never refused for an earlier run's request.
        const response = await h.api(await h.person(`fuzz-${run++}`), 'POST', '/v1/requests', body);
        expect(response.status).toBeLessThan(500);
        const wellFormed = CreateRequestBody.safeParse(onTheWire(body)).success;
        if (response.status === 201) {
          // Only a body the contract accepts creates anything, and exactly one request.
          expect(wellFormed).toBe(true);
          expect(response.body.request.systemId).toBe((body as { systemId: string }).systemId);
          expect(await count()).toBe(before + 1);
          outcomes.created++;
        } else {
          expect(response.status).toBeGreaterThanOrEqual(400);
          expect(response.body).toEqual(expect.objectContaining({ error: expect.any(String), message: expect.any(String) }));
          expect(await count()).toBe(before);
          outcomes.refused++;
        }
      }),
      { numRuns: 80 },
    );
    // Both halves of the property were exercised.
    expect(outcomes.created).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('never answers 5xx to arbitrary review bodies, and a refused one leaves the request as it was', async () => {
    const requester = await h.person('reviewed');
    const { body: created } = await h.api(requester, 'POST', '/v1/requests', { systemId: 'staging-db', durationSeconds: 900, reason: 'fuzz the review' });
    const id = created.request.id as string;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({ decision: fc.oneof(fc.constantFrom('maybe', 'APPROVE', ''), fc.string(), fc.integer()), comment: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()) }, { requiredKeys: [] }),
          fc.record({ decision: fc.constant('approve'), comment: fc.string({ maxLength: 20 }), extra: fc.anything() }),
          fc.anything(),
        ).filter((body) => !ReviewBody.safeParse(onTheWire(body)).success),
        async (body) => {
          const response = await h.api('bob', 'POST', `/v1/requests/${id}/reviews`, JSON.stringify(body) ?? 'null');
          expect(response.status).toBeLessThan(500);
          expect(response.status).toBeGreaterThanOrEqual(400);
          const view = await h.api(requester, 'GET', `/v1/requests/${id}`);
          expect(view.body.request).toMatchObject({ state: 'pending', reviews: [] });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    expect((await h.api(null, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await h.api(null, 'GET', '/readyz')).body).toEqual({
      status: 'ready',
      checks: { database: true, storageWritable: true, identityProvider: true, identityMapping: true, ...(engine === 'postgres' ? { eventListener: true } : {}) },
      detail: {
        database: 'answers',
        storageWritable: 'takes writes',
        identityProvider: expect.stringMatching(/^signing keys fetched \d+ s ago$/),
        identityMapping: expect.any(String),
        ...(engine === 'postgres' ? { eventListener: "listening for other replicas' events" } : {}),
      },
    });
    const metrics = await h.api(null, 'GET', '/metrics');
    expect(metrics.body).toMatch(/stint_http_requests_total\{method="GET",route="\/v1\/me",status="200"\}/);
    expect(metrics.body).toContain('stint_background_connection_up{connection="identity-provider"} 1');
    if (engine === 'postgres') expect(metrics.body).toContain('stint_background_connection_up{connection="event-listener"} 1');
    const openapi = await h.api(null, 'GET', '/v1/openapi.json');
    expect(openapi.body.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.body.paths)).toEqual(expect.arrayContaining(['/v1/requests', '/v1/requests/{id}/reviews', '/v1/grants/{id}/credential', '/v1/events']));
  });
});

describe('rate limit', () => {
  it('limits each person, not everyone', async () => {
    const h = await startHarness({ engine: 'sqlite', config: (c) => ({ ...c, rateLimit: { perMinute: 5 } }) });
    try {
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await h.api('alice', 'GET', '/v1/me')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const limited = await h.api('alice', 'GET', '/v1/me');
      expect(limited.body).toMatchObject({ error: 'rate_limited', message: expect.stringMatching(/5 a minute/) });
      expect((await h.api('bob', 'GET', '/v1/me')).status).toBe(200);

      // A reload (SIGHUP) changes the limit without a restart: off, then 2 a minute.
      h.server.reload({ ...h.config, rateLimit: { perMinute: 0 } });
      expect((await h.api('alice', 'GET', '/v1/me')).status).toBe(200);
      h.server.reload({ ...h.config, rateLimit: { perMinute: 2 } });
      const carol = [];
      for (let i = 0; i < 3; i++) carol.push((await h.api('carol', 'GET', '/v1/me')).status);
      expect(carol).toEqual([200, 200, 429]);
    } finally {
      await h.close();
    }
  });
});

describe('remembered verifications', () => {
  it('still refuse a token once it expires (past a 5 s clock-skew allowance)', async () => {
    const h = await startHarness({ engine: 'sqlite', config: (c) => ({ ...c, identity: { ...c.identity, clockTolerance: 5 } }) });
    try {
      const shortLived = await forgeToken(h.idpDataDir, h.idp.issuer, { groups: ['engineering'] }, { exp: Math.floor(Date.now() / 1000) + 1 });
      const me = () => fetch(`${h.server.url}/v1/me`, { headers: { authorization: `Bearer ${shortLived}` } });
      expect((await me()).status).toBe(200);
      expect((await me()).status).toBe(200); // the second call is answered from the verified-token cache
      await new Promise((r) => setTimeout(r, 7_000));
      const late = await me();
      expect(late.status).toBe(401);
      expect(((await late.json()) as { message: string }).message).toMatch(/expired/);
    } finally {
      await h.close();
    }
  }, 20_000);
});

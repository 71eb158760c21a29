import {
  ApiError,
  AuditExportQuery,
  AuditQuery,
  CreateRequestBody,
  CredentialResponse,
  ExtendBody,
  GrantListQuery,
  GrantResponse,
  GrantsResponse,
  HealthResponse,
  IdParams,
  MeResponse,
  ReadyResponse,
  RequestListQuery,
  RequestResponse,
  RequestsResponse,
  ReviewBody,
  RevokeBody,
  SystemsResponse,
  AuditResponse,
  ClientConfigResponse,
} from '@stint/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { ApiProblem } from '../access/context';
import { extendGrant, readCredential, releaseGrant, revokeGrant } from '../access/grants';
import { GrantListings } from '../access/grant-listings';
import { maySee, previewPolicy } from '../access/policy';
import { cancelRequest, createRequest, getRequest, listRequests, reviewRequest } from '../access/requests';
import { startGrant } from '../access/start';
import { exportAudit, toAuditEntry } from '../audit/chain';
import type { Principal } from '../auth/principal';
import type { AppDeps, StintApp } from './app';
import { bundleView } from '../providers/bundle';
import { registerKrlRoute } from '../providers/ssh-krl';
import { streamEvents } from './sse';

const errors = { '4xx': ApiError, '5xx': ApiError };
const IdempotencyHeaders = z.object({
  'idempotency-key': z.string().min(8).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces').optional(),
});

/** The caller, established by the onRequest hook for every non-public /v1 route. */
const who = (request: FastifyRequest): Principal => {
  if (!request.principal) throw new ApiProblem(401, 'unauthorized', 'Sign in to Stint first.');
  return request.principal;
};

/**
 * Sends JSON text that the route's response schema already encoded (GrantListings does so when
 * it renders). Fastify passes a string through without serializing it again, which the route's
 * typed reply does not model, hence the untyped reply here.
 */
const sendEncoded = (reply: FastifyReply, json: string) => reply.type('application/json; charset=utf-8').send(json);

export function registerRoutes(app: StintApp, deps: AppDeps): void {
  const { ctx } = deps;
  const pub = { public: true };

  app.get('/healthz', { config: pub, schema: { hide: true, response: { 200: HealthResponse } } }, async () => ({ status: 'ok' as const }));
  app.get('/readyz', { config: pub, schema: { hide: true, response: { 200: ReadyResponse, 503: ReadyResponse } } }, async (_request, reply) => {
    const { checks, detail } = await deps.ready();
    const ok = Object.values(checks).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unready', checks, detail });
  });
  app.get('/metrics', { config: pub, schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  app.get('/v1/openapi.json', { config: pub, schema: { hide: true } }, async () => app.swagger());

  app.get('/v1/client-config', { config: pub, schema: { security: [], response: { 200: ClientConfigResponse } } }, async () => {
    const { issuer, desktopClient, identity } = ctx.config();
    return {
      issuer,
      clientId: desktopClient.clientId,
      scopes: desktopClient.scopes,
      authorizationParams: desktopClient.authorizationParams,
      redirectPorts: desktopClient.redirectPorts,
      clientSecretRequired: desktopClient.clientSecretRequired,
      sendIdToken: identity.claimsFrom === 'id_token',
    };
  });

  app.get('/v1/me', { schema: { response: { 200: MeResponse, ...errors } } }, async (request) => who(request));

  app.get('/v1/systems', { schema: { response: { 200: SystemsResponse, ...errors } } }, async (request) => {
    const user = who(request);
    const systems = ctx
      .config()
      .systems.filter((s) => maySee(s, user))
      .map((s) => ({
        id: s.id,
        name: s.name,
        description: s.description,
        risk: s.risk,
        provider: s.provider.type,
        durationPresetsSeconds: s.durations.presets,
        maxDurationSeconds: s.durations.max,
        needsPublicKey: ctx.providers.forSystem(s.id)?.needsPublicKey ?? false,
        startWindowSeconds: s.startWindow ?? null,
        bundle: bundleView(s),
        policy: previewPolicy(s, user),
      }));
    return { systems };
  });

  app.post(
    '/v1/requests',
    { schema: { body: CreateRequestBody, headers: IdempotencyHeaders, response: { 200: RequestResponse, 201: RequestResponse, ...errors } } },
    async (request, reply) => {
      const result = await createRequest(ctx, who(request), request.body, request.headers['idempotency-key']);
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(result.replayed ? 200 : 201).send({ request: result.request, grant: result.grant });
    },
  );
  app.get('/v1/requests', { schema: { querystring: RequestListQuery, response: { 200: RequestsResponse, ...errors } } }, async (request) => ({
    requests: await listRequests(ctx, who(request), request.query),
  }));
  app.get('/v1/requests/:id', { schema: { params: IdParams, response: { 200: RequestResponse, ...errors } } }, async (request) =>
    getRequest(ctx, who(request), request.params.id),
  );
  app.post(
    '/v1/requests/:id/reviews',
    { schema: { params: IdParams, body: ReviewBody, response: { 200: RequestResponse, ...errors } } },
    async (request) => reviewRequest(ctx, who(request), request.params.id, request.body),
  );
  app.post('/v1/requests/:id/cancel', { schema: { params: IdParams, response: { 200: RequestResponse, ...errors } } }, async (request) =>
    cancelRequest(ctx, who(request), request.params.id),
  );

  const grantListings = new GrantListings(ctx);
  app.get('/v1/grants', { schema: { querystring: GrantListQuery, response: { 200: GrantsResponse, ...errors } } }, async (request, reply) =>
    sendEncoded(reply, await grantListings.json(who(request), request.query)),
  );
  app.get('/v1/grants/:id/credential', { schema: { params: IdParams, response: { 200: CredentialResponse, ...errors } } }, async (request, reply) => {
    const credential = await readCredential(ctx, who(request), request.params.id);
    reply.header('cache-control', 'no-store');
    return { credential };
  });
  app.post('/v1/grants/:id/release', { schema: { params: IdParams, response: { 200: GrantResponse, ...errors } } }, async (request) => ({
    grant: await releaseGrant(ctx, who(request), request.params.id),
  }));
  app.post('/v1/grants/:id/start', { schema: { params: IdParams, response: { 200: RequestResponse, ...errors } } }, async (request) => startGrant(ctx, who(request), request.params.id));
  app.post(
    '/v1/grants/:id/extend',
    { schema: { params: IdParams, body: ExtendBody, response: { 200: RequestResponse, 201: RequestResponse, ...errors } } },
    async (request, reply) => {
      const result = await extendGrant(ctx, who(request), request.params.id, request.body);
      return reply.code(201).send({ request: result.request, grant: result.grant });
    },
  );
  app.post(
    '/v1/grants/:id/revoke',
    { schema: { params: IdParams, body: RevokeBody.optional(), response: { 200: GrantResponse, ...errors } } },
    async (request) => ({ grant: await revokeGrant(ctx, who(request), request.params.id, request.body?.reason ?? '') }),
  );

  const auditorOnly = (user: Principal) => {
    if (!user.isAuditor && !user.isAdmin) throw new ApiProblem(403, 'not_an_auditor', 'Only auditors and admins may read the audit log.');
  };
  app.get('/v1/audit', { schema: { querystring: AuditQuery, response: { 200: AuditResponse, ...errors } } }, async (request) => {
    auditorOnly(who(request));
    const { after, limit, seqs } = request.query;
    let query = ctx.store.db.selectFrom('audit').selectAll().where('seq', '>', after);
    if (seqs !== undefined) query = query.where('seq', 'in', seqs.split(',').map(Number));
    const rows = await query.orderBy('seq').limit(limit).execute();
    return { entries: rows.map(toAuditEntry) };
  });
  app.get('/v1/audit/export', { schema: { querystring: AuditExportQuery } }, async (request, reply) => {
    auditorOnly(who(request));
    const { format } = request.query;
    reply.header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    reply.header('content-disposition', `attachment; filename="stint-audit.${format}"`);
    return reply.send(Readable.from(exportAudit(ctx.store.db, format)));
  });

  registerKrlRoute(app, deps);

  app.get(
    '/v1/events',
    { schema: { querystring: z.strictObject({ lastEventId: z.string().regex(/^\d+$/).optional() }), headers: z.object({ 'last-event-id': z.string().regex(/^\d*$/).optional() }) } },
    async (request, reply) => {
      const raw = request.headers['last-event-id'] || request.query.lastEventId;
      await streamEvents(deps, who(request), request, reply, raw ? Number(raw) : undefined);
    },
  );
}

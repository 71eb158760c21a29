import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { ApiError } from '@stint/contract';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { ApiProblem, type AccessContext } from '../access/context';
import { AuthError, type Verifier } from '../auth/verifier';
import type { Principal } from '../auth/principal';
import type { EventHub } from '../events/hub';
import { registerRoutes } from './api-routes';
import { registerInsightsRoutes } from './insights-routes';
import { storageProblem } from '../store/storage-errors';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a token (health, metrics, OpenAPI). */
    public?: boolean;
  }
}

export interface AppDeps {
  ctx: AccessContext;
  hub: EventHub;
  verifier: () => Verifier;
  logger: Logger;
  /** Heartbeat comments on the event stream keep proxies from closing an idle connection. */
  sseHeartbeatMs?: number;
  /** Each dependency's readiness, and one line on each for people (/readyz). */
  ready: () => Promise<{ checks: Record<string, boolean>; detail: Record<string, string> }>;
}

export type StintApp = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

export const BODY_LIMIT_BYTES = 64 * 1024;

/** The ID token the app sends beside its access token where claims come from it (identity.claimsFrom id_token). */
export const ID_TOKEN_HEADER = 'x-stint-id-token';
const idTokenHeader = (headers: Record<string, string | string[] | undefined>): string | undefined => {
  const value = headers[ID_TOKEN_HEADER];
  return typeof value === 'string' && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(value) ? value : undefined;
};

export async function buildApp(deps: AppDeps): Promise<StintApp> {
  const limits = deps.ctx.config().http;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    forceCloseConnections: true,
    genReqId: () => crypto.randomUUID(),
    // A client that is slow to send its headers or its body is cut off (408), and an idle
    // keep-alive connection closed; Node checks every second rather than every 30 s.
    requestTimeout: limits.requestTimeoutSeconds * 1000,
    keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
    http: { headersTimeout: limits.headersTimeoutSeconds * 1000, connectionsCheckingInterval: 1000 },
  }).withTypeProvider<ZodTypeProvider>();
  const failedAuth = new AddressLimiter(() => deps.ctx.config().http.unauthenticatedPerMinute, deps.ctx.now);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    deps.ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public || !request.url.startsWith('/v1/')) return;
    // An address that keeps failing to authenticate is refused before a new token is checked
    // (that costs a signature, or a call to the IdP). A token already verified still works: one
    // broken client behind an office's shared address must not lock everyone else out.
    const wait = failedAuth.retryAfterSeconds(request.ip);
    if (wait !== null) {
      const known = deps.verifier().remembered(request.headers.authorization, idTokenHeader(request.headers));
      if (known) return void (request.principal = known);
      throw new ApiProblem(429, 'rate_limited', `Too many requests without a valid token from this address; retry in ${wait} s.`, { 'retry-after': String(wait) });
    }
    try {
      request.principal = await deps.verifier().verify(request.headers.authorization, idTokenHeader(request.headers));
    } catch (error) {
      if (error instanceof AuthError && error.status === 401) failedAuth.hit(request.ip);
      throw error;
    }
  });

  // The limit is read from the live config on every request, so a SIGHUP reload changes it
  // (0 turns it off) without a restart.
  const perMinute = () => deps.ctx.config().rateLimit.perMinute;
  {
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: () => perMinute(),
      timeWindow: 60_000,
      // Per person, not per address: a whole office shares one NAT address.
      keyGenerator: (request) => request.principal?.sub ?? request.ip,
      allowList: (request) => !request.principal || perMinute() === 0,
      errorResponseBuilder: (_request, context) => ({
        statusCode: 429,
        error: 'rate_limited',
        message: `Too many requests: the limit is ${context.max} a minute per person; retry in ${Math.ceil(context.ttl / 1000)} s.`,
      }),
    });
  }

  await app.register(swagger, {
    openapi: {
      info: { title: 'Stint approval API', version: '1', description: 'Just-in-time access requests, reviews and grants.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const send = (status: number, body: ApiError) => reply.code(status).send(body);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const details = error.validation.map((issue) => ({
        path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(body)',
        message: issue.message ?? 'is not valid',
      }));
      return send(400, {
        error: 'invalid_request',
        message: `The ${error.validationContext ?? 'request'} is not valid: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
        details,
      });
    }
    if (error instanceof ApiProblem) {
      if (error.headers) reply.headers(error.headers);
      return send(error.status, { error: error.error, message: error.message });
    }
    if (error instanceof AuthError) {
      if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="stint"');
      return send(error.status, { error: error.status === 401 ? 'unauthorized' : 'idp_unavailable', message: error.message });
    }
    if (error.statusCode === 429) return send(429, { error: 'rate_limited', message: error.message });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return send(413, { error: 'body_too_large', message: `The body is larger than ${BODY_LIMIT_BYTES / 1024} KiB; send less.` });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return send(415, { error: 'unsupported_media_type', message: 'Send the body as application/json.' });
    }
    if (!isResponseSerializationError(error) && error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own 4xx (bad JSON, empty body): say what, never echo internals.
      const message = error instanceof SyntaxError || error.code?.startsWith('FST_ERR_CTP') ? 'The body is not valid JSON.' : error.message;
      return send(error.statusCode, { error: 'bad_request', message });
    }
    const storage = storageProblem(error);
    if (storage) {
      request.log.error({ err: error, storage: storage.kind }, 'storage failure');
      reply.header('retry-after', String(storage.retryAfterSeconds));
      return send(503, { error: `storage_${storage.kind}`, message: storage.message });
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(500, {
      error: 'internal',
      message: `Something went wrong on the Stint server (error id ${request.id}). Try again; if it persists, give the id to your admin.`,
    });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `There is no ${request.method} ${request.url.split('?')[0]}; see /v1/openapi.json.` }),
  );

  registerRoutes(app, deps);
  registerInsightsRoutes(app, deps);
  return app;
}

/**
 * Counts failures per address in one-minute windows. Memory is bounded: windows that ended are
 * forgotten as new ones start, and at most 100,000 addresses are tracked at once.
 */
class AddressLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly perMinute: () => number,
    private readonly now: () => number,
  ) {}

  hit(address: string): void {
    if (this.perMinute() === 0) return;
    const now = this.now();
    const window = this.windows.get(address);
    if (!window || now - window.start >= 60_000) {
      if (this.windows.size >= 100_000) this.forgetEnded(now);
      this.windows.set(address, { start: now, count: 1 });
    } else window.count++;
  }

  /** Seconds until the address may try again, or null when it may now. */
  retryAfterSeconds(address: string): number | null {
    const limit = this.perMinute();
    const window = this.windows.get(address);
    if (limit === 0 || !window) return null;
    const left = window.start + 60_000 - this.now();
    if (left <= 0) {
      this.windows.delete(address);
      return null;
    }
    return window.count >= limit ? Math.ceil(left / 1000) : null;
  }

  private forgetEnded(now: number): void {
    for (const [address, window] of this.windows) if (now - window.start >= 60_000) this.windows.delete(address);
    if (this.windows.size >= 100_000) this.windows.clear();
  }
}

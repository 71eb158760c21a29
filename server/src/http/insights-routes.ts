import { ApiError, AuditStreamQuery, AuditStreamResponse, InsightsQuery, InsightsResponse } from '@stint/contract';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblem } from '../access/context';
import { toAuditEntry } from '../audit/chain';
import type { Principal } from '../auth/principal';
import { buildInsights, PeriodError, resolvePeriod, systemFacts } from '../insights';
import type { AppDeps, StintApp } from './app';

const errors = { '4xx': ApiError, '5xx': ApiError };

/** The same rule as the audit log's own routes: auditors and admins only. */
function auditor(request: FastifyRequest): Principal {
  const user = request.principal;
  if (!user) throw new ApiProblem(401, 'unauthorized', 'Sign in to Stint first.');
  if (!user.isAuditor && !user.isAdmin) throw new ApiProblem(403, 'not_an_auditor', 'Only auditors and admins may read the audit log and its insights.');
  return user;
}

/** GET /v1/insights (figures over a period) and GET /v1/audit/stream (a SIEM's pull with a cursor). */
export function registerInsightsRoutes(app: StintApp, deps: AppDeps): void {
  const { ctx } = deps;

  app.get('/v1/insights', { schema: { querystring: InsightsQuery, response: { 200: InsightsResponse, ...errors } } }, async (request) => {
    auditor(request);
    const now = ctx.now();
    let period;
    try {
      period = resolvePeriod(request.query, now);
    } catch (error) {
      if (error instanceof PeriodError) throw new ApiProblem(400, 'invalid_period', `The period is not valid: ${error.message}.`);
      throw error;
    }
    return buildInsights(ctx.store.reader, {
      ...period,
      system: request.query.system ?? null,
      group: request.query.group ?? null,
      now,
      systems: systemFacts(ctx.config()),
    });
  });

  // Like GET /v1/audit, with the cursor for the next call and JSON lines for collectors that want them.
  app.get('/v1/audit/stream', { schema: { querystring: AuditStreamQuery, response: { 200: AuditStreamResponse, ...errors } } }, async (request, reply) => {
    auditor(request);
    const { after, limit, format } = request.query;
    // One row more than asked says whether there is more, without a count over the table.
    const rows = await ctx.store.reader.selectFrom('audit').selectAll().where('seq', '>', after).orderBy('seq').limit(limit + 1).execute();
    const more = rows.length > limit;
    const entries = rows.slice(0, limit).map(toAuditEntry);
    const next = entries.at(-1)?.seq ?? after;
    reply.header('cache-control', 'no-store');
    if (format === 'jsonl') {
      reply.header('stint-next-after', String(next));
      reply.header('stint-more', String(more));
      // A string is sent as it is, not through the JSON response schema (which the typed reply does not model).
      return (reply as FastifyReply).type('application/x-ndjson').send(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    }
    return { entries, next, more };
  });
}

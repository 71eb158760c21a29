import { createHash } from 'node:crypto';
import { newRowId } from '../store/ids';
import type { z } from 'zod';
import { formatDuration, type AccessRequest, type CreateRequestBody as CreateRequestSchema, type ReviewBody as ReviewSchema } from '@stint/contract';
import { appendAudit, type AuditRecord } from '../audit/chain';
import { SYSTEM_ACTOR, type Principal } from '../auth/principal';
import { appendLogs, type LoggedEvent } from '../events/log';
import { forUpdate } from '../store/database';
import { insertRows } from '../store/insert';
import type { GrantRow, RequestRow, ReviewRow } from '../store/schema';
import {
  ApiProblem,
  maySeeRequest,
  notFound,
  parseList,
  reviewerAudience,
  systemFor,
  toAccessRequest,
  type AccessContext,
} from './context';
import { applyExtension, claimGrant } from './activation';
import { issueOrAnnounce } from './start';
import { refuseSecondAccess } from './live-access';
import { forReviewers, loadGrant, loadRequestView, recentRequestCounts, reviewsFor, stateChangeEffects } from './views';
import { decideRequest, maySee, onCallRule, reviewRefusal } from './policy';
import { onCallChecker } from '../oncall';
import type { OnCallAnswer } from '../oncall/checker';
import { isPendingExpired, stateAfterReviews } from './request-machine';
import { moveRequests } from './transitions';

type CreateInput = z.output<typeof CreateRequestSchema> & { extendsGrantId?: string };
type ReviewInput = z.output<typeof ReviewSchema>;

const bodyHash = (body: unknown) => createHash('sha256').update(JSON.stringify(body)).digest('hex');

/** POST /v1/requests (and the request half of an extension). */
export async function createRequest(ctx: AccessContext, user: Principal, input: CreateInput, idempotencyKey?: string) {
  const { db } = ctx.store;
  const system = systemFor(ctx, input.systemId);
  if (!system || !maySee(system, user)) throw notFound('system', input.systemId);
  const provider = ctx.providers.forSystem(system.id);
  if (!provider) throw new ApiProblem(503, 'provider_unavailable', `${system.id} has no working provider; tell your Stint admin.`);

  const hash = bodyHash(input);
  if (idempotencyKey) {
    const replay = await replayIdempotent(ctx, user, idempotencyKey, hash);
    if (replay) return replay;
  }

  const decision = decideRequest(system, user, input, provider.needsPublicKey && !input.extendsGrantId);
  if (!decision.ok) throw new ApiProblem(decision.status, decision.error, decision.message);
  // Checked before anything is stored: a private key pasted by mistake never reaches the database.
  const keyProblem = input.publicKey ? provider.validatePublicKey?.(input.publicKey) : null;
  if (keyProblem) throw new ApiProblem(400, 'public_key_invalid', keyProblem);
  const startAt = input.startAt === undefined ? null : Date.parse(input.startAt);
  const startProblem = startAtRefusal(startAt, ctx.now(), input);
  if (startProblem) throw startProblem;
  // A person this provider cannot serve as they are (a login name it would have to rewrite,
  // possibly into someone else's) is refused before an approver spends time on it, and the
  // refusal is audited: it may be someone probing for another account.
  const userProblem = provider.checkUser?.(user) ?? null;
  if (userProblem) {
    await ctx.store.db.transaction().execute((trx) =>
      appendAudit(ctx.store, trx, ctx.now(), [{ actor: user.sub, action: 'request.refused', targetType: 'system', targetId: system.id, detail: { why: 'login_name', problem: userProblem } }]),
    );
    throw new ApiProblem(422, 'login_name_refused', `${userProblem}.`);
  }

  // The rules above sent it to review, but its requester may be on call for this system: the
  // source is asked outside any transaction, and only its clear "yes, now" approves. Down, slow
  // or garbled, it leaves the request to reviewers (an outage must not open the door).
  const onCallQuestion = onCallRule(system, decision);
  const onCall = onCallQuestion ? await onCallChecker(ctx).check(onCallQuestion, user, input.durationSeconds, ctx.now()) : null;
  const outcome = onCall?.result === 'on-call' ? 'on-call' : decision.outcome;

  const now = ctx.now();
  const approved = outcome !== 'review';
  const row: RequestRow = {
    id: newRowId(),
    system_id: system.id,
    requester_sub: user.sub,
    requester_name: user.name,
    requester_login: user.login,
    requester_email: user.email,
    requester_groups: JSON.stringify(user.groups),
    duration_seconds: input.durationSeconds,
    reason: input.reason,
    ticket: input.ticket ?? null,
    break_glass: input.breakGlass ? 1 : 0,
    extends_grant_id: input.extendsGrantId ?? null,
    public_key: input.publicKey ?? null,
    asked_seconds: null,
    start_at: startAt,
    auto_approved_by: onCall?.result === 'on-call' ? JSON.stringify(onCallApproval(onCall)) : null,
    on_call_check: onCall && onCall.result !== 'on-call' ? JSON.stringify(onCallCheck(onCall)) : null,
    state: approved ? 'approved' : 'pending',
    approvals_required: outcome === 'on-call' ? 0 : decision.approvalsRequired,
    approver_groups: JSON.stringify(system.approvers),
    // Break-glass skips review before the fact, so it is flagged for review after it.
    flagged: decision.outcome === 'break-glass' ? 1 : 0,
    created_at: now,
    updated_at: now,
    pending_expires_at: now + system.pendingTtl * 1000,
    grant_id: null,
    failure_reason: null,
  };

  let claimed: GrantRow | null = null;
  let events: LoggedEvent[] = [];
  try {
    claimed = await db.transaction().execute(async (trx) => {
      // Not audited when refused, like the policy's refusals: nothing changed.
      if (!row.extends_grant_id) await refuseSecondAccess(ctx.store, trx, user.sub, system, now);
      await insertRows(ctx.store, trx, 'requests', [row]);
      if (idempotencyKey) {
        await trx.insertInto('idempotency').values({ user_sub: user.sub, key: idempotencyKey, body_hash: hash, request_id: row.id, created_at: now }).execute();
      }
      // Reads and the claim come before the audit append, which holds the append-log lock until
      // commit. Approved by policy, the grant is claimed in the same commit as the request.
      const forReview = approved ? null : forReviewers(toAccessRequest(row, []), await recentRequestCounts(trx, [row.id]));
      const grant = approved && !row.extends_grant_id ? await claimGrant(ctx, trx, row, now) : null;
      if (grant) await trx.updateTable('requests').set({ grant_id: grant.id }).where('id', '=', row.id).execute();
      const audit: AuditRecord[] = [
        {
          actor: user.sub,
          action: input.extendsGrantId ? 'request.extension_created' : 'request.created',
          targetType: 'request',
          targetId: row.id,
          detail: {
            systemId: system.id,
            durationSeconds: row.duration_seconds,
            reason: row.reason,
            ticket: row.ticket,
            breakGlass: input.breakGlass,
            outcome,
            extendsGrantId: row.extends_grant_id,
            ...(onCall ? { onCall } : {}),
          },
        },
      ];
      if (decision.outcome === 'break-glass') {
        audit.push({ actor: user.sub, action: 'request.break_glass', targetType: 'request', targetId: row.id, detail: { systemId: system.id, flaggedForReview: true } });
      }
      events = await appendLogs(ctx.store, trx, now, audit, forReview ? [{ audience: reviewerAudience(row), event: { type: 'review.requested', request: forReview } }] : []);
      return grant;
    });
  } catch (error) {
    // A concurrent twin with the same Idempotency-Key won the insert: answer with its result.
    if (idempotencyKey) {
      const replay = await replayIdempotent(ctx, user, idempotencyKey, hash);
      if (replay) return replay;
    }
    throw error;
  }
  ctx.metrics.requestsCreated.inc({ outcome });
  ctx.eventsCommitted(events);

  if (claimed) return { ...(await issueOrAnnounce(ctx, claimed, { ...row, grant_id: claimed.id }, [])), replayed: false };
  if (!approved) return { request: toAccessRequest(row, []), grant: null, replayed: false };
  await applyExtension(ctx, row.id);
  const request = await loadRequestView(db, row.id);
  if (!request) throw new Error(`request ${row.id} vanished after creation`);
  return { request, grant: request.grantId ? await loadGrant(db, request.grantId) : null, replayed: false };
}

/** What the request says of an on-call approval: shift times in the contract's form (the audit row keeps the source's text). */
function onCallApproval(onCall: { source: string; schedule: string; shift: { start: string | null; end: string | null } }): NonNullable<AccessRequest['autoApprovedBy']> {
  const iso = (text: string | null) => (text === null ? null : new Date(text).toISOString());
  return { kind: 'on-call', source: onCall.source, schedule: onCall.schedule, shiftStart: iso(onCall.shift.start), shiftEnd: iso(onCall.shift.end) };
}

/** What the reviewers' card says of an on-call check that did not approve: which schedule, and why not, in words. */
function onCallCheck(onCall: Exclude<OnCallAnswer, { result: 'on-call' }>): NonNullable<AccessRequest['onCallCheck']> {
  const about = `${onCall.source} schedule ${onCall.schedule}`;
  switch (onCall.result) {
    case 'not-on-call':
      return { source: onCall.source, schedule: onCall.schedule, outcome: 'not-on-call', words: `not on call now for ${about}${onCall.why ? ` (${onCall.why})` : ''}` };
    case 'too-long':
      return { source: onCall.source, schedule: onCall.schedule, outcome: 'too-long', words: `asked longer than the ${formatDuration(onCall.maxDurationSeconds)} an on-call approval covers for ${about}` };
    case 'failed':
      return { source: onCall.source, schedule: onCall.schedule, outcome: 'failed', words: `${about} could not be asked (${onCall.error}), so it was not approved on call` };
  }
}

async function replayIdempotent(ctx: AccessContext, user: Principal, key: string, hash: string) {
  const { db } = ctx.store;
  const previous = await db.selectFrom('idempotency').selectAll().where('user_sub', '=', user.sub).where('key', '=', key).executeTakeFirst();
  if (!previous) return null;
  if (previous.body_hash !== hash) {
    throw new ApiProblem(422, 'idempotency_key_reused', 'This Idempotency-Key was already used for a different request; use a new key for a new request.');
  }
  const request = await loadRequestView(db, previous.request_id);
  if (!request) return null;
  return { request, grant: request.grantId ? await loadGrant(db, request.grantId) : null, replayed: true };
}

/** POST /v1/requests/:id/reviews. Serialised per request, so racing approvers activate once. */
export async function reviewRequest(ctx: AccessContext, reviewer: Principal, requestId: string, input: ReviewInput) {
  const { db } = ctx.store;
  const now = ctx.now();
  const outcome = await db.transaction().execute(async (trx) => {
    const row = await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', requestId)).executeTakeFirst();
    if (!row || !maySeeRequest(row, reviewer)) throw notFound('request', requestId);
    const refusal = reviewRefusal({ requester_sub: row.requester_sub, approver_groups: parseList(row.approver_groups) }, reviewer);
    if (refusal) throw new ApiProblem(refusal.status, refusal.error, refusal.message);
    if (row.state !== 'pending') throw new ApiProblem(409, 'not_pending', `This request is ${row.state}; only pending requests can be reviewed.`);
    const refusedDuration = approvedDurationRefusal(input, row.duration_seconds);
    if (refusedDuration) throw refusedDuration;
    if (isPendingExpired(row.pending_expires_at, now)) {
      throw new ApiProblem(409, 'not_pending', 'This request waited too long for review and has expired; the requester can ask again.');
    }
    const existing = await trx.selectFrom('reviews').selectAll().where('request_id', '=', requestId).execute();
    if (existing.some((r) => r.reviewer_sub === reviewer.sub)) {
      throw new ApiProblem(409, 'already_reviewed', 'You have already reviewed this request; each person counts once.');
    }
    const review: ReviewRow = {
      id: newRowId(),
      request_id: requestId,
      reviewer_sub: reviewer.sub,
      reviewer_name: reviewer.name,
      reviewer_email: reviewer.email,
      decision: input.decision,
      comment: input.comment ?? null,
      duration_seconds: input.durationSeconds !== undefined && input.durationSeconds < row.duration_seconds ? input.durationSeconds : null,
      created_at: now,
    };
    await insertRows(ctx.store, trx, 'reviews', [review]);
    const reviews = [...existing, review];
    const next = stateAfterReviews(row.approvals_required, reviews.map((r) => ({ reviewerSub: r.reviewer_sub, decision: r.decision as 'approve' | 'deny' })));
    const audit: AuditRecord[] = [
      {
        actor: reviewer.sub,
        action: `review.${input.decision}`,
        targetType: 'request',
        targetId: requestId,
        detail: { systemId: row.system_id, comment: review.comment, ...(review.duration_seconds ? { durationSeconds: review.duration_seconds, askedSeconds: row.duration_seconds } : {}) },
      },
    ];
    let updated = row;
    let claimed: GrantRow | null = null;
    if (next !== 'pending') {
      // N of M approvals: the grant is for the shortest any of them approved (never longer than asked).
      const granted = next === 'approved' ? shortestApproval(reviews, row.duration_seconds) : row.duration_seconds;
      const decided = granted < row.duration_seconds ? { ...row, duration_seconds: granted, asked_seconds: row.duration_seconds } : row;
      // Approval and the grant's claim commit together (an extension moves its grant instead).
      if (next === 'approved' && !row.extends_grant_id) claimed = await claimGrant(ctx, trx, decided, now);
      const [moved] = await moveRequests(trx, { ids: [requestId] }, 'pending', next, {
        updated_at: now,
        grant_id: claimed?.id ?? row.grant_id,
        ...(decided === row ? {} : { duration_seconds: decided.duration_seconds, asked_seconds: decided.asked_seconds }),
      });
      if (!moved) throw new ApiProblem(409, 'not_pending', 'This request was decided while you reviewed it.');
      updated = moved;
    }
    // Still waiting for review, it stays on reviewers' lists, with the requester's history.
    const recent = next === 'pending' ? await recentRequestCounts(trx, [requestId]) : undefined;
    const effects = stateChangeEffects(updated, reviews, reviewer.sub, {}, recent);
    if (next !== 'pending') audit.push(effects.audit);
    // The requester hears of every review (a "1 of 2 approvals" shows live in their app), and
    // other reviewers see the request change either way.
    const events = await appendLogs(ctx.store, trx, now, audit, effects.events);
    return { next, row: updated, reviews, view: recent ? forReviewers(effects.view, recent) : effects.view, claimed, events };
  });
  ctx.eventsCommitted(outcome.events);
  if (outcome.claimed) return issueOrAnnounce(ctx, outcome.claimed, outcome.row, outcome.reviews);
  if (outcome.next !== 'approved') return { request: outcome.view, grant: outcome.row.grant_id ? await loadGrant(db, outcome.row.grant_id) : null };
  await applyExtension(ctx, requestId);
  const request = await loadRequestView(db, requestId);
  if (!request) throw notFound('request', requestId);
  return { request, grant: request.grantId ? await loadGrant(db, request.grantId) : null };
}

/** How far ahead a start time may be named: a maintenance window this week, not a standing grant. */
const START_AT_MAX_AHEAD_MS = 7 * 86_400_000;

/** A named start time is in the future, within a week, and not for an extension or a break-glass request (both are for now). */
function startAtRefusal(startAt: number | null, now: number, input: { extendsGrantId?: string | undefined; breakGlass?: boolean | undefined }): ApiProblem | null {
  if (startAt === null) return null;
  if (input.extendsGrantId || input.breakGlass) return new ApiProblem(422, 'start_at_refused', 'A start time goes with a new request only; an extension or a break-glass request is for now.');
  if (startAt <= now) return new ApiProblem(422, 'start_at_refused', 'The start time has passed; leave it out to start at approval, or name a later time.');
  if (startAt - now > START_AT_MAX_AHEAD_MS) return new ApiProblem(422, 'start_at_refused', 'Name a start time within 7 days; ask nearer the time for later windows.');
  return null;
}

/** Approving for less is an approver's right; approving for more, or "denying for 10 minutes", is refused. */
function approvedDurationRefusal(input: ReviewInput, askedSeconds: number): ApiProblem | null {
  if (input.durationSeconds === undefined) return null;
  if (input.decision !== 'approve') return new ApiProblem(422, 'duration_on_deny', 'A duration goes only with an approval; deny without one.');
  if (input.durationSeconds > askedSeconds) {
    return new ApiProblem(422, 'longer_than_asked', `You can approve for less than was asked (${askedSeconds} s), never more; the requester can ask to extend later.`);
  }
  return null;
}

/** The time the grant is for once approved: what was asked, or the shortest approval for less. */
function shortestApproval(reviews: readonly ReviewRow[], askedSeconds: number): number {
  return Math.min(askedSeconds, ...reviews.filter((r) => r.decision === 'approve' && r.duration_seconds !== null).map((r) => r.duration_seconds!));
}

/** POST /v1/requests/:id/cancel: the requester withdraws a pending request. */
export async function cancelRequest(ctx: AccessContext, user: Principal, requestId: string) {
  const now = ctx.now();
  const events = await ctx.store.db.transaction().execute(async (trx) => {
    const row = await forUpdate(ctx.store, trx.selectFrom('requests').selectAll().where('id', '=', requestId)).executeTakeFirst();
    if (!row || !maySeeRequest(row, user)) throw notFound('request', requestId);
    if (row.requester_sub !== user.sub) throw new ApiProblem(403, 'not_requester', 'Only the requester can cancel a request.');
    if (row.state !== 'pending') throw new ApiProblem(409, 'not_pending', `This request is ${row.state}; only a pending request can be cancelled.`);
    const [updated] = await moveRequests(trx, { ids: [requestId] }, 'pending', 'cancelled', { updated_at: now });
    if (!updated) throw new ApiProblem(409, 'not_pending', 'This request was decided meanwhile; only a pending request can be cancelled.');
    const effects = stateChangeEffects(updated, await reviewsFor(trx, [requestId]), user.sub);
    return appendLogs(ctx.store, trx, now, [effects.audit], effects.events);
  });
  ctx.eventsCommitted(events);
  const request = await loadRequestView(ctx.store.db, requestId);
  if (!request) throw notFound('request', requestId);
  return { request, grant: null };
}

/** Pending requests past their time-to-live become expired; returns how many. */
export async function expirePendingRequests(ctx: AccessContext, limit = 500): Promise<number> {
  const now = ctx.now();
  const expired = await ctx.store.db.transaction().execute(async (trx) => {
    const due = await trx.selectFrom('requests').select('id').where('state', '=', 'pending').where('pending_expires_at', '<=', now).limit(limit).execute();
    if (due.length === 0) return { count: 0, events: [] };
    const rows = await moveRequests(trx, { ids: due.map((d) => d.id) }, 'pending', 'expired', { updated_at: now });
    const reviews = await reviewsFor(trx, rows.map((r) => r.id));
    const effects = rows.map((row) => stateChangeEffects(row, reviews, SYSTEM_ACTOR, { why: 'pending_ttl' }));
    return { count: rows.length, events: await appendLogs(ctx.store, trx, now, effects.map((e) => e.audit), effects.flatMap((e) => e.events)) };
  });
  if (expired.count > 0) ctx.eventsCommitted(expired.events);
  return expired.count;
}

export async function listRequests(ctx: AccessContext, user: Principal, query: { scope: 'mine' | 'review' | 'all'; state?: string | undefined; limit: number }) {
  const { db } = ctx.store;
  let q = db.selectFrom('requests').selectAll().orderBy('created_at', 'desc');
  if (query.state) q = q.where('state', '=', query.state);
  let rows: RequestRow[];
  if (query.scope === 'mine') {
    rows = await q.where('requester_sub', '=', user.sub).limit(query.limit).execute();
  } else if (query.scope === 'review') {
    // Approver groups are a JSON list; filter the (bounded) candidates here, not in dialect SQL.
    const candidates = await (query.state ? q : q.where('state', '=', 'pending')).where('requester_sub', '!=', user.sub).limit(2000).execute();
    rows = candidates.filter((r) => parseList(r.approver_groups).some((g) => user.groups.includes(g))).slice(0, query.limit);
    const [reviews, recent] = await Promise.all([reviewsFor(db, rows.map((r) => r.id)), recentRequestCounts(db, rows.map((r) => r.id))]);
    return rows.map((row) => forReviewers(toAccessRequest(row, reviews), recent));
  } else {
    if (!user.isAdmin && !user.isAuditor) throw new ApiProblem(403, 'not_an_auditor', 'Only admins and auditors may list every request.');
    rows = await q.limit(query.limit).execute();
  }
  const reviews = await reviewsFor(db, rows.map((r) => r.id));
  return rows.map((row) => toAccessRequest(row, reviews));
}

export async function getRequest(ctx: AccessContext, user: Principal, id: string) {
  const { db } = ctx.store;
  const row = await db.selectFrom('requests').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !maySeeRequest(row, user)) throw notFound('request', id);
  let request = toAccessRequest(row, await reviewsFor(db, [id]));
  // Those who may review it see the requester's recent history; the requester (and an admin or
  // auditor outside its approver groups) sees the request as it is.
  if (!reviewRefusal({ requester_sub: row.requester_sub, approver_groups: parseList(row.approver_groups) }, user)) request = forReviewers(request, await recentRequestCounts(db, [id]));
  return { request, grant: row.grant_id ? await loadGrant(db, row.grant_id) : null };
}

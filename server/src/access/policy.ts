import { formatDuration, type PolicyPreview } from '@stint/contract';
import type { Principal } from '../auth/principal';
import type { SystemConfig } from '../config/schema';
import type { OnCallQuestion } from '../oncall';

const inAny = (user: Pick<Principal, 'groups'>, groups: readonly string[]) => groups.some((g) => user.groups.includes(g));

export const mayRequest = (system: SystemConfig, user: Principal) => inAny(user, system.requesters);
export const mayBreakGlass = (system: SystemConfig, user: Principal) =>
  system.breakGlass !== undefined && inAny(user, system.breakGlass.groups);
/** A system is listed for those who may request it, break the glass, or review it. */
export const maySee = (system: SystemConfig, user: Principal) =>
  mayRequest(system, user) || mayBreakGlass(system, user) || inAny(user, system.approvers) || user.isAdmin;

function autoApproveUpTo(system: SystemConfig, user: Principal): number | null {
  if (system.approvalsRequired === 0) return system.durations.max;
  const auto = system.autoApprove;
  if (auto?.groups && auto.maxDuration !== undefined && inAny(user, auto.groups)) return auto.maxDuration;
  return null;
}

/**
 * The on-call rule that may still approve a request the other rules sent to review, or null.
 * Break-glass and requests already approved never ask: a source is only a way to skip review.
 */
export function onCallRule(system: SystemConfig, decision: Decision): OnCallQuestion | null {
  const auto = system.autoApprove;
  if (!decision.ok || decision.outcome !== 'review' || !auto?.onCall) return null;
  // The schema refuses an onCall rule with neither limit; 0 would approve nothing if it ever got here.
  const maxDurationSeconds = auto.onCall.maxDuration ?? auto.maxDuration ?? 0;
  return { source: auto.onCall.source, schedule: auto.onCall.schedule, maxDurationSeconds };
}

export function previewPolicy(system: SystemConfig, user: Principal): PolicyPreview {
  return {
    approvalsRequired: system.approvalsRequired,
    approverGroups: system.approvers,
    autoApproveUpToSeconds: autoApproveUpTo(system, user),
    breakGlassAllowed: mayBreakGlass(system, user),
    justification: system.justification,
    ticketPattern: system.ticketPattern ?? null,
    pendingTtlSeconds: system.pendingTtl,
  };
}

export interface RequestInput {
  durationSeconds: number;
  reason: string;
  ticket?: string | undefined;
  breakGlass: boolean;
  publicKey?: string | undefined;
}

export type Refusal = { ok: false; status: 400 | 403; error: string; message: string };
export type Decision =
  | Refusal
  | { ok: true; outcome: 'review' | 'auto' | 'on-call' | 'break-glass'; approvalsRequired: number };

const refuse = (status: 400 | 403, error: string, message: string): Refusal => ({ ok: false, status, error, message });

/** The policy's answer to a new request (or an extension, which follows the same rules). */
export function decideRequest(
  system: SystemConfig,
  user: Principal,
  input: RequestInput,
  needsPublicKey: boolean,
): Decision {
  if (input.breakGlass) {
    if (!mayBreakGlass(system, user)) {
      return refuse(403, 'break_glass_not_allowed', `You are not in a break-glass group for ${system.id}; request it normally.`);
    }
  } else if (!mayRequest(system, user)) {
    return refuse(403, 'not_a_requester', `You may not request ${system.id}; ask to join one of: ${system.requesters.join(', ') || '(no group is allowed)'}.`);
  }
  if (input.durationSeconds > system.durations.max) {
    return refuse(400, 'duration_too_long',
      `${formatDuration(input.durationSeconds)} is longer than the maximum for ${system.id}, which is ${formatDuration(system.durations.max)}; ask for ${formatDuration(system.durations.max)} or less.`);
  }
  if (system.justification === 'required' && input.reason.trim() === '') {
    return refuse(400, 'reason_required', `${system.id} needs a reason; say what you will do with the access.`);
  }
  if (system.ticketPattern !== undefined) {
    if (!input.ticket || !new RegExp(system.ticketPattern).test(input.ticket)) {
      return refuse(400, 'ticket_required', `${system.id} needs a ticket matching ${system.ticketPattern}.`);
    }
  }
  if (needsPublicKey && !input.publicKey) {
    return refuse(400, 'public_key_required', `${system.id} signs an SSH key for you; send your public key with the request.`);
  }
  if (input.breakGlass) return { ok: true, outcome: 'break-glass', approvalsRequired: 0 };
  const autoUpTo = autoApproveUpTo(system, user);
  if (autoUpTo !== null && input.durationSeconds <= autoUpTo) return { ok: true, outcome: 'auto', approvalsRequired: 0 };
  return { ok: true, outcome: 'review', approvalsRequired: system.approvalsRequired };
}

/** Why `reviewer` may not review this request, or null when they may. */
export function reviewRefusal(
  request: { requester_sub: string; approver_groups: readonly string[] },
  reviewer: Principal,
): Refusal | null {
  // A requester never approves their own request, whatever groups they are in.
  if (reviewer.sub === request.requester_sub) {
    return refuse(403, 'own_request', 'You cannot review your own request; another approver has to.');
  }
  if (!inAny(reviewer, request.approver_groups)) {
    return refuse(403, 'not_an_approver', `Only members of ${request.approver_groups.join(', ')} may review this request.`);
  }
  return null;
}

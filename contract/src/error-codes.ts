// The error codes the server and the app answer with, in one place, grouped by what a caller
// does about them. The CLI turns each group into its documented exit code (cli/src/errors.ts);
// the server and core name these same codes. A code missing here is a plain failure (exit 1).

/** The policy, or the state of things, says no: asking again the same way will not help. */
export const REFUSED_CODES = [
  'own_request',
  'not_an_approver',
  'not_a_requester',
  'not_requester',
  'not_an_admin',
  'not_an_auditor',
  'duration_too_long',
  'reason_required',
  'ticket_required',
  'public_key_required',
  'public_key_invalid',
  'break_glass_not_allowed',
  'login_name_refused',
  'not_pending',
  'already_reviewed',
  'longer_than_asked',
  'duration_on_deny',
  'grant_not_active',
  'grant_active',
  'grant_ready',
  'not_ready',
  'not_started',
  'scheduled',
  'start_window_passed',
  'start_at_refused',
  'request_pending',
  'system_not_configured',
  'idempotency_key_reused',
  'invalid_input',
  'invalid_period',
] as const;

/** What was named does not exist (or is not yours to see). */
export const NOT_FOUND_CODES = ['not_found', 'no_grant'] as const;

/** Nobody is signed in, or the session ended. */
export const SIGNED_OUT_CODES = ['signed_out', 'unauthorized'] as const;

export type ErrorKind = 'refused' | 'not_found' | 'signed_out' | 'failed';

/** What kind of failure a code is; anything unknown is a plain failure. */
export function errorKind(code: string): ErrorKind {
  if ((SIGNED_OUT_CODES as readonly string[]).includes(code)) return 'signed_out';
  if ((NOT_FOUND_CODES as readonly string[]).includes(code) || code.endsWith('_not_found')) return 'not_found';
  if ((REFUSED_CODES as readonly string[]).includes(code)) return 'refused';
  return 'failed';
}

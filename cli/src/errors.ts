/** A failure a person can act on; `exit` is the documented exit code (see README). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exit: number,
    readonly code = 'failed',
  ) {
    super(message);
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, refused: 4, noAgent: 5, signedOut: 6, timeout: 7, unsafeRuntime: 8 } as const;

/** The exit code for an error the app (or agent) answered with. */
export function exitFor(error: { code: string }): number {
  if (error.code === 'signed_out' || error.code === 'unauthorized') return EXIT.signedOut;
  if (/not_found|no_grant/.test(error.code)) return EXIT.notFound;
  if (/^(own_request|not_an_approver|not_a_requester|duration_too_long|reason_required|ticket_required|break_glass_not_allowed|not_pending|already_reviewed|invalid_input|public_key_invalid|grant_not_active|grant_active|request_pending)$/.test(error.code)) return EXIT.refused;
  return EXIT.failed;
}

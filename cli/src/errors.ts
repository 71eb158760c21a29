import { errorKind, type ErrorKind } from '@stint/contract/plain';

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

const EXIT_FOR_KIND: Record<ErrorKind, number> = { refused: EXIT.refused, not_found: EXIT.notFound, signed_out: EXIT.signedOut, failed: EXIT.failed };

/** The exit code for an error the app (or agent) answered with (the codes: contract/src/error-codes.ts). */
export function exitFor(error: { code: string }): number {
  return EXIT_FOR_KIND[errorKind(error.code)];
}

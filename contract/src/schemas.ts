// The zod schemas built on the contract's plain rules (text.ts, duration.ts, env-names.ts).
// Those files stay free of zod so the `stint` CLI's quick paths (contract/src/plain.ts) load
// without it; everything that validates imports these from the contract's index as before.
import { z } from 'zod';
import { parseDuration } from './duration';
import { CREDENTIAL_ENV_NAME_PATTERN, REFUSED_ENV_NAMES, REFUSED_ENV_PREFIXES } from './env-names';
import { textProblem } from './text';

/**
 * A trimmed zod string that refuses what textProblem refuses; the message names the field
 * through its path ("reason: holds a control character ...").
 */
export function safeText(options: { multiline: boolean }) {
  return z.string().trim().superRefine((text, ctx) => {
    const problem = textProblem(text, options);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** A duration written as text ("15m") or as a number of seconds, normalised to seconds. */
export const DurationText = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const seconds = parseDuration(value);
  if (seconds === null) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration; write it like 90s, 15m or 1h30m` });
    return z.NEVER;
  }
  return seconds;
});

export const CredentialEnvName = z
  .string()
  .regex(
    CREDENTIAL_ENV_NAME_PATTERN,
    `an upper-case environment variable name (A-Z, 0-9, _), not one that changes how programs start (${REFUSED_ENV_NAMES.slice(0, 3).join(', ')}, ${REFUSED_ENV_PREFIXES.slice(0, 2).join('*, ')}*...)`,
  );

/** An environment value: a process environment cannot hold NUL. */
export const CredentialEnvValue = z.string().refine((value) => !value.includes('\0'), 'an environment value cannot contain NUL');

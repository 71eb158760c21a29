// Every way a sign-in or refresh can fail, as a code callers tell apart and a message a person
// can act on; openid-client's documented errors are mapped here, in one place.
import * as client from 'openid-client';

export type SignInErrorCode =
  | 'timeout'
  | 'cancelled'
  | 'state_mismatch'
  | 'nonce_mismatch'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'idp_error'
  | 'discovery_failed'
  | 'token_exchange_failed'
  | 'refresh_failed'
  /** The IdP refused the app itself (its client id or secret): only an administrator can fix it. */
  | 'client_refused'
  /** Every fixed sign-in port is taken by another program. */
  | 'ports_busy';

/**
 * A sign-in or refresh that did not produce tokens. The message says what happened and what to
 * do. It deliberately carries no `cause`: openid-client's errors hold response bodies and token
 * claims, and an error object tends to end up in a log.
 */
export class SignInError extends Error {
  override readonly name = 'SignInError';
  constructor(
    readonly code: SignInErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** openid-client's errors from the code exchange, as the codes callers tell apart. */
export function exchangeError(error: unknown): SignInError {
  const claim = failedClaim(error);
  if (claim === 'nonce') {
    return new SignInError('nonce_mismatch', 'The identity provider returned an ID token that was not issued for this sign-in (nonce mismatch), so Stint refused it. Sign in again.');
  }
  if (claim === 'iss') {
    return new SignInError('issuer_mismatch', 'The identity provider returned an ID token issued by someone else (issuer mismatch), so Stint refused it. Sign in again; if it keeps happening, ask your administrator.');
  }
  if (claim === 'aud' || claim === 'azp') {
    return new SignInError('audience_mismatch', 'The identity provider returned an ID token meant for another application (audience mismatch), so Stint refused it. Sign in again; if it keeps happening, ask your administrator.');
  }
  if (error instanceof client.ResponseBodyError) {
    return new SignInError('token_exchange_failed', `The identity provider refused to finish the sign-in (${clip(error.error, 64)}${error.error_description ? `: ${clip(error.error_description, 300)}` : ''}). Sign in again.`);
  }
  return new SignInError('token_exchange_failed', `Stint could not finish the sign-in with the identity provider (${describe(error)}). Sign in again.`);
}

/** OAuth error codes that mean the IdP refuses the app itself, whoever signs in. */
const CLIENT_ERRORS = new Set(['invalid_client', 'unauthorized_client', 'unsupported_grant_type']);

export function refreshError(error: unknown): SignInError {
  if (error instanceof client.ResponseBodyError && CLIENT_ERRORS.has(error.error)) {
    return new SignInError('client_refused', `The identity provider refused Stint's app itself (${clip(error.error, 64)}), so signing in again will not help. Ask your administrator to check the desktop client at the identity provider (the server's desktopClient settings, and a client secret if it needs one).`);
  }
  // The IdP answered and said no (invalid_grant: expired, revoked, or a rotated token used
  // twice), or its answer failed the ID token checks: either way this refresh token is done.
  if (error instanceof client.ResponseBodyError) {
    return new SignInError('refresh_failed', `The identity provider ended the session (${clip(error.error, 64)}). Sign in again.`);
  }
  // A refusal without an OAuth error body (some IdPs answer 400 with an empty or HTML page)
  // is still a refusal: retrying the same token forever would never tell the person.
  const status = httpStatusOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return new SignInError('refresh_failed', `The identity provider refused to refresh the session (HTTP ${status}). Sign in again.`);
  }
  if (failedClaim(error) !== undefined) {
    return new SignInError('refresh_failed', `The identity provider's refreshed ID token failed Stint's checks (${failedClaim(error)}). Sign in again.`);
  }
  return new SignInError('token_exchange_failed', `Stint could not reach the identity provider to refresh the session (${describe(error)}). It will try again.`);
}

/** The HTTP status of the IdP's answer inside an openid-client error (its own field, or the Response it wraps). */
export function httpStatusOf(error: unknown): number | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    if (current instanceof Response) return current.status;
    const status = (current as { status?: unknown }).status;
    if (typeof status === 'number') return status;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The claim named by openid-client's OAUTH_JWT_CLAIM_COMPARISON_FAILED, wherever it is wrapped. */
export function failedClaim(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const { code, cause } = current as Error & { code?: unknown };
    if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') {
      for (let inner: unknown = cause, d = 0; d < 3 && inner && typeof inner === 'object'; d++) {
        const claim = (inner as { claim?: unknown }).claim;
        if (typeof claim === 'string') return claim;
        inner = (inner as { cause?: unknown }).cause;
      }
      return 'unknown';
    }
    current = cause;
  }
  return undefined;
}

/** A short, single-line, length-limited rendering of text from elsewhere (an IdP, an error). */
export function clip(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return clip(typeof code === 'string' ? `${error.message}, ${code}` : error.message, 200);
  }
  return clip(String(error), 200);
}

export function cancelled(): SignInError {
  return new SignInError('cancelled', 'The sign-in was cancelled. Sign in again when you are ready.');
}

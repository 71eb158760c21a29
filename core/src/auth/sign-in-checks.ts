// The checks a sign-in makes around openid-client's own: the authorization response read before
// openid-client sees it, and the whole sign-in's time limit and cancel.
import type * as client from 'openid-client';
import { cancelled, clip, SignInError } from './sign-in-error';

/**
 * Checks the authorization response ourselves before openid-client does, so each attack gets its
 * own code and message (openid-client reports these as one generic "invalid response").
 * Order matters: the state comes first, so a forged error response is treated as the forgery it
 * is rather than shown to the person as the IdP's word.
 */
export function checkAuthorizationResponse(config: client.Configuration, callback: URL, expectedState: string): void {
  const params = callback.searchParams;
  // Login CSRF (RFC 9700 §4.7): only the response to the request this sign-in sent is accepted.
  // A mismatch fails the sign-in rather than waiting for a better one; the person retries.
  if (params.get('state') !== expectedState) {
    throw new SignInError('state_mismatch', 'The sign-in response did not belong to the sign-in Stint started, so Stint ignored it. Sign in again from Stint.');
  }
  // Mix-up attacks (RFC 9207): the response must name the IdP we sent the person to.
  const metadata = config.serverMetadata();
  const iss = params.get('iss');
  if ((iss === null && metadata.authorization_response_iss_parameter_supported) || (iss !== null && iss !== metadata.issuer)) {
    throw new SignInError('issuer_mismatch', 'The sign-in response came from a different identity provider than the one Stint asked, so Stint refused it. Sign in again from Stint.');
  }
  const error = params.get('error');
  if (error !== null) {
    const description = params.get('error_description');
    const said = `${clip(error, 64)}${description ? `: ${clip(description, 300)}` : ''}`;
    throw new SignInError(
      'idp_error',
      error === 'access_denied'
        ? `The identity provider did not allow the sign-in (${said}). Sign in again, or ask your administrator for access to Stint.`
        : `The identity provider refused the sign-in (${said}). Try again; if it keeps happening, ask your administrator.`,
    );
  }
  if (!params.get('code')) {
    throw new SignInError('idp_error', 'The identity provider sent no authorization code. Sign in again from Stint.');
  }
}

/** The whole sign-in's time limit and the caller's cancel, as one thing to race against. */
export class Deadline {
  private readonly expired: Promise<never>;
  private reject!: (error: SignInError) => void;
  private readonly timer: NodeJS.Timeout;
  private readonly onAbort = () => this.reject(cancelled());

  constructor(
    timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.expired = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    // Observed through race(); this only keeps an early expiry from counting as unhandled.
    this.expired.catch(() => {});
    this.timer = setTimeout(
      () => this.reject(new SignInError('timeout', `The sign-in was not finished within ${Math.round(timeoutMs / 1000)} seconds, so Stint stopped waiting. Sign in again when you are ready.`)),
      timeoutMs,
    );
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  check(): void {
    if (this.signal?.aborted) throw cancelled();
  }

  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.expired]);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

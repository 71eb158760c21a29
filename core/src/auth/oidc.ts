/**
 * Desktop sign-in: OpenID Connect authorization code flow with PKCE in the system browser and a
 * loopback redirect (RFC 8252, native apps), following the OAuth security BCP (RFC 9700).
 * The protocol checks are openid-client's (a certified relying-party library); this file picks
 * the safe options, owns the loopback listener's lifetime and turns failures into messages a
 * person can act on.
 *
 * Threats answered here, each at the line that answers it:
 * - code interception by another local app: PKCE S256 with a fresh verifier per sign-in;
 * - login CSRF / forged redirects: a random `state` per sign-in, checked before anything else;
 * - ID token replay or substitution: a random `nonce` per sign-in, and iss/aud/signature checks;
 * - IdP mix-up: the `iss` authorization response parameter (RFC 9207) when the IdP offers it;
 * - eavesdropping and tampering on the network: https only, except to this machine's loopback;
 * - a stolen refresh token: rotation is accepted on every refresh, and a refused refresh is
 *   reported as such so the app drops the session;
 * - a lingering listener: the loopback port closes on every path out of signIn.
 */
import * as client from 'openid-client';
import { LoopbackPortsBusy, openLoopbackRedirect, type LoopbackRedirect } from './loopback';
// Plain http only to this machine (isLoopbackHostname). `localhost` is accepted for the issuer
// (unlike for our redirect URI): what it resolves to is set by this machine's own administrator.
import { isLoopbackHostname } from '@stint/contract';

/** Opens a URL in the person's browser: Electron's shell.openExternal, or a test's browser. */
export interface BrowserOpener {
  open(url: string): Promise<void>;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  /** Default ['openid', 'profile', 'email', 'offline_access']. */
  scopes?: string[];
  /** e.g. { resource: 'urn:...' } or { audience: 'stint-api' } for IdPs that need it. */
  extraAuthorizationParams?: Record<string, string>;
  /** Fixed loopback ports for the redirect, tried in order (IdPs that match redirect URIs exactly); empty: any free port. */
  redirectPorts?: readonly number[];
  /** For IdPs that want a secret even from a native app; read from the OS keychain by the caller. */
  clientSecret?: string;
}

/** What became of a refresh token at sign-out: said to the person as it is. */
export type RevokeOutcome =
  | { revoked: true }
  | { revoked: false; reason: string };

export interface Tokens {
  accessToken: string;
  /** Epoch ms. */
  accessTokenExpiresAt: number;
  refreshToken: string | null;
  idToken: string | null;
  /** From the verified ID token (or, after a refresh without one, the IdP's UserInfo). */
  claims: { sub: string; name: string | null; email: string | null };
}

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

const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/** Per HTTP request to the IdP (openid-client's option is in seconds). */
const IDP_REQUEST_TIMEOUT_S = 30;
/**
 * When the token response has no expires_in, assume a short life: the app then refreshes early
 * instead of presenting an expired token for hours.
 */
const ASSUMED_ACCESS_TOKEN_LIFETIME_S = 5 * 60;
/** Endpoints in the discovery document that the app or the browser will talk to. */
const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'revocation_endpoint', 'end_session_endpoint'] as const;

export class OidcClient {
  private readonly scopes: string[];
  private readonly timeoutMs: number;
  private configuration: Promise<client.Configuration> | undefined;
  /** The signed-in person, so a refresh cannot quietly switch to someone else (OIDC Core §12.2). */
  private subject: string | undefined;

  constructor(
    private readonly settings: OidcSettings,
    options: { timeoutMs?: number } = {},
  ) {
    this.scopes = settings.scopes?.length ? [...settings.scopes] : DEFAULT_SCOPES;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The identity provider this client signs in with (its issuer URL). */
  get issuer(): string {
    return this.settings.issuer;
  }

  /** Opens the system browser at the IdP, waits for the loopback redirect, returns tokens. */
  async signIn(opener: BrowserOpener, options: { signal?: AbortSignal; onUrl?: (url: string) => void } = {}): Promise<Tokens> {
    const deadline = new Deadline(this.timeoutMs, options.signal);
    let loopback: LoopbackRedirect | undefined;
    let outcome: { ok: true } | { ok: false; reason: string } = { ok: false, reason: 'The sign-in did not finish.' };
    try {
      deadline.check();
      const config = await deadline.race(this.discover());
      try {
        loopback = await openLoopbackRedirect({ ports: this.settings.redirectPorts ?? [] });
      } catch (error) {
        if (!(error instanceof LoopbackPortsBusy)) throw error;
        throw new SignInError('ports_busy', `Stint could not sign in: ${error.message}. Close the program that uses them (for example another sign-in still open) and try again.`);
      }
      deadline.check();

      // Fresh per sign-in and never reused: a value from an earlier attempt that leaked (browser
      // history, a log) must not complete this one.
      const state = client.randomState();
      const nonce = client.randomNonce();
      const codeVerifier = client.randomPKCECodeVerifier();
      const authorizationUrl = client.buildAuthorizationUrl(config, {
        // Extra parameters go first, so none of them can replace a protection set below.
        ...this.settings.extraAuthorizationParams,
        client_id: config.clientMetadata().client_id,
        response_type: 'code',
        redirect_uri: loopback.redirectUri,
        scope: this.scopes.join(' '),
        state,
        nonce,
        // S256 only: `plain` would hand the verifier to anyone who sees the authorization request.
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      });

      // Shown to the person as well (CLI, app), for a browser that did not open or a second device.
      options.onUrl?.(authorizationUrl.href);
      // Not awaited in sequence: an opener may resolve only once the browser is done (a test
      // browser does), while the redirect must be served as soon as it arrives.
      const opened = Promise.resolve()
        .then(() => opener.open(authorizationUrl.href))
        .then(
          () => new Promise<never>(() => {}),
          (error: unknown) => {
            throw new SignInError('cancelled', `Stint could not open your browser (${describe(error)}). Check that a default browser is set, then sign in again.`);
          },
        );
      const callback = await deadline.race(Promise.race([loopback.received, opened]));
      const tokens = await deadline.race(this.redeem(config, callback, { state, nonce, codeVerifier }));
      // Only now: an exchange that finished after a timeout or cancel changes nothing.
      this.subject = tokens.claims.sub;
      outcome = { ok: true };
      return tokens;
    } catch (error) {
      const signInError = error instanceof SignInError ? error : new SignInError('token_exchange_failed', `Sign-in failed unexpectedly (${describe(error)}). Try again.`);
      outcome = { ok: false, reason: signInError.message };
      throw signInError;
    } finally {
      deadline.dispose();
      await loopback?.finish(outcome);
    }
  }

  /**
   * Refresh with rotation: returns the new refresh token when the IdP rotates it (else the old
   * one). Throws SignInError('refresh_failed') when the IdP refuses the refresh token (it is
   * dead: sign in again). Other codes (discovery_failed, token_exchange_failed) mean the IdP
   * could not be reached or answered nonsense; the refresh token may still be good.
   */
  async refresh(refreshToken: string): Promise<Tokens> {
    const config = await this.discover();
    const requestedAt = Date.now();
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      response = await client.refreshTokenGrant(config, refreshToken);
    } catch (error) {
      throw refreshError(error);
    }
    const idClaims = response.claims();
    let claims: Tokens['claims'];
    if (idClaims) {
      claims = claimsOf(idClaims);
    } else if (config.serverMetadata().userinfo_endpoint) {
      // Many IdPs return no ID token on refresh; UserInfo (authenticated by the new access token
      // over the same trusted channel) says who the token is for.
      try {
        claims = claimsOf(await client.fetchUserInfo(config, response.access_token, this.subject ?? client.skipSubjectCheck));
      } catch (error) {
        throw refreshError(error);
      }
    } else {
      throw new SignInError('refresh_failed', 'The identity provider refreshed the session without saying who it is for (no ID token, no UserInfo). Sign in again.');
    }
    if (this.subject !== undefined && claims.sub !== this.subject) {
      throw new SignInError('refresh_failed', 'The identity provider refreshed the session for a different person. Sign in again.');
    }
    this.subject = claims.sub;
    return {
      accessToken: response.access_token,
      accessTokenExpiresAt: expiresAt(response, requestedAt),
      // No refresh_token in the response means the IdP does not rotate: keep using the old one.
      refreshToken: response.refresh_token ?? refreshToken,
      idToken: response.id_token ?? null,
      claims,
    };
  }

  /** The IdP's end-session URL (RP-initiated logout) when it offers one, else null. */
  async endSessionUrl(idToken: string | null): Promise<string | null> {
    const config = await this.discover();
    if (!config.serverMetadata().end_session_endpoint) return null;
    return client.buildEndSessionUrl(config, idToken ? { id_token_hint: idToken } : {}).href;
  }

  /**
   * Revokes a refresh token at the IdP's revocation endpoint, authenticating as the app (with its
   * secret when it has one); never throws. Signing out locally must not depend on the IdP, so a
   * failure is reported, not raised: the token then lives until its own expiry at the IdP.
   */
  async revokeRefreshToken(refreshToken: string): Promise<RevokeOutcome> {
    let config: client.Configuration;
    try {
      config = await this.discover();
    } catch (error) {
      return { revoked: false, reason: `the identity provider could not be reached (${describe(error)})` };
    }
    if (!config.serverMetadata().revocation_endpoint) return { revoked: false, reason: 'the identity provider offers no way to revoke it' };
    try {
      await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
      return { revoked: true };
    } catch (error) {
      const status = httpStatusOf(error);
      const said = error instanceof client.ResponseBodyError ? `${clip(error.error, 64)}` : status ? `HTTP ${status}` : describe(error);
      const hint = status === 401 || (error instanceof client.ResponseBodyError && error.error === 'invalid_client')
        ? ': it accepts revocation only from clients with a secret'
        : '';
      return { revoked: false, reason: `the identity provider refused to revoke it (${said})${hint}` };
    }
  }

  // -------------------------------------------------------------------------------------------

  /** Discovery, once per client; a failure is not cached, so the next call tries again. */
  private discover(): Promise<client.Configuration> {
    this.configuration ??= discoverIdp(this.settings).catch((error: unknown) => {
      this.configuration = undefined;
      throw error;
    });
    return this.configuration;
  }

  private async redeem(config: client.Configuration, callback: URL, expected: { state: string; nonce: string; codeVerifier: string }): Promise<Tokens> {
    checkAuthorizationResponse(config, callback, expected.state);
    const requestedAt = Date.now();
    let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      // openid-client repeats the state and iss checks, verifies the ID token (signature with
      // enableNonRepudiationChecks, iss, aud, azp, exp, nonce) and sends the PKCE verifier.
      response = await client.authorizationCodeGrant(config, callback, {
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        pkceCodeVerifier: expected.codeVerifier,
        idTokenExpected: true,
      });
    } catch (error) {
      throw exchangeError(error);
    }
    const idClaims = response.claims();
    if (!idClaims) throw new SignInError('token_exchange_failed', 'The identity provider returned no ID token. Ask your administrator to check the sign-in settings.');
    return {
      accessToken: response.access_token,
      accessTokenExpiresAt: expiresAt(response, requestedAt),
      refreshToken: response.refresh_token ?? null,
      idToken: response.id_token ?? null,
      claims: claimsOf(idClaims),
    };
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Refuses, before any request, an issuer that would send codes and tokens over the network
 * unprotected. openid-client is https-only by default; its `allowInsecureRequests` is turned on
 * only for an http issuer on this machine's loopback (the dev IdP), because loopback traffic
 * never leaves the machine. Over plain http to any other host, anyone on the path could swap the
 * discovery document or the JWKS (forging ID tokens) and read codes and refresh tokens.
 */
function checkIssuer(issuer: string): { url: URL; loopbackHttp: boolean } {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new SignInError('discovery_failed', `The sign-in issuer "${issuer}" is not a URL. Ask your administrator for the identity provider's issuer URL.`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new SignInError('discovery_failed', `The sign-in issuer "${url.origin}${url.pathname}" must not contain credentials, a query or a fragment. Ask your administrator for the identity provider's issuer URL.`);
  }
  if (url.protocol === 'https:') return { url, loopbackHttp: false };
  if (url.protocol === 'http:' && isLoopbackHostname(url.hostname)) return { url, loopbackHttp: true };
  throw new SignInError(
    'discovery_failed',
    `Stint signs in only over https, and the issuer ${url.origin} is not https (plain http is allowed only for a development identity provider on this computer). Ask your administrator for the https issuer URL.`,
  );
}

/**
 * client_secret_basic with each part percent-encoded as encodeURIComponent does. openid-client's
 * own encodes unreserved characters too ("stint-desktop" becomes "stint%2Ddesktop"), which IdPs
 * that do not decode the header (glewlwyd) read as an unknown client.
 */
function secretBasic(clientId: string, secret: string): client.ClientAuth {
  const value = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
  return (_as, _client, body, headers) => {
    body.delete('client_id');
    headers.set('authorization', value);
  };
}

async function discoverIdp(settings: OidcSettings): Promise<client.Configuration> {
  const { url, loopbackHttp } = checkIssuer(settings.issuer);
  let config: client.Configuration;
  try {
    config = await client.discovery(
      url,
      settings.clientId,
      // A public native client: no secret could stay secret in a desktop app (RFC 8252 §8.5).
      // Some IdPs want one anyway; then it comes from the OS keychain and goes in a Basic header.
      settings.clientSecret ? { token_endpoint_auth_method: 'client_secret_basic' } : { token_endpoint_auth_method: 'none' },
      settings.clientSecret ? secretBasic(settings.clientId, settings.clientSecret) : client.None(),
      {
        timeout: IDP_REQUEST_TIMEOUT_S,
        execute: [
          // Verify ID token signatures against the IdP's JWKS even though they come straight from
          // the token endpoint: over loopback http there is no TLS to vouch for the sender, and
          // over https it costs one cached JWKS fetch.
          client.enableNonRepudiationChecks,
          // openid-client marks this deprecated only so that it stands out; checkIssuer above is
          // why it is safe here.
          ...(loopbackHttp ? [client.allowInsecureRequests] : []),
        ],
      },
    );
  } catch (error) {
    throw new SignInError(
      'discovery_failed',
      `Stint could not read the sign-in settings of the identity provider at ${url.origin} (${describe(error)}). Check your network connection and try again; if it keeps failing, ask your administrator to check the issuer URL.`,
    );
  }
  const metadata = config.serverMetadata();
  // The discovery document could point a loopback issuer's endpoints elsewhere; hold every
  // endpoint (including the one the browser opens) to the issuer's own rule.
  for (const name of ENDPOINTS) {
    const endpoint = metadata[name];
    if (typeof endpoint !== 'string') continue;
    let target: URL | undefined;
    try {
      target = new URL(endpoint);
    } catch {
      target = undefined;
    }
    const safe = target !== undefined && (target.protocol === 'https:' || (loopbackHttp && target.protocol === 'http:' && isLoopbackHostname(target.hostname)));
    if (!safe) {
      throw new SignInError('discovery_failed', `The identity provider at ${url.origin} lists an unsafe ${name} (not https). Ask your administrator to fix the identity provider's configuration.`);
    }
  }
  if (metadata.code_challenge_methods_supported && !metadata.code_challenge_methods_supported.includes('S256')) {
    throw new SignInError('discovery_failed', `The identity provider at ${url.origin} does not support PKCE with S256, which Stint requires. Ask your administrator to enable it.`);
  }
  return config;
}

/**
 * Checks the authorization response ourselves before openid-client does, so each attack gets its
 * own code and message (openid-client reports these as one generic "invalid response").
 * Order matters: the state comes first, so a forged error response is treated as the forgery it
 * is rather than shown to the person as the IdP's word.
 */
function checkAuthorizationResponse(config: client.Configuration, callback: URL, expectedState: string): void {
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

/** openid-client's errors from the code exchange, as the codes callers tell apart. */
function exchangeError(error: unknown): SignInError {
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

function refreshError(error: unknown): SignInError {
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
function httpStatusOf(error: unknown): number | undefined {
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
function failedClaim(error: unknown): string | undefined {
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

function claimsOf(source: Record<string, unknown>): Tokens['claims'] {
  if (typeof source.sub !== 'string' || !source.sub) throw new SignInError('token_exchange_failed', 'The identity provider did not say who signed in (no subject). Ask your administrator.');
  return {
    sub: source.sub,
    name: typeof source.name === 'string' ? source.name : null,
    email: typeof source.email === 'string' ? source.email : null,
  };
}

/** Counted from when the request was sent, so network time shortens the lifetime, never lengthens it. */
function expiresAt(response: client.TokenEndpointResponse, requestedAt: number): number {
  const seconds = typeof response.expires_in === 'number' && response.expires_in >= 0 ? response.expires_in : ASSUMED_ACCESS_TOKEN_LIFETIME_S;
  return requestedAt + seconds * 1000;
}

/** A short, single-line, length-limited rendering of text from elsewhere (an IdP, an error). */
function clip(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return clip(typeof code === 'string' ? `${error.message}, ${code}` : error.message, 200);
  }
  return clip(String(error), 200);
}

/** The whole sign-in's time limit and the caller's cancel, as one thing to race against. */
class Deadline {
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

function cancelled(): SignInError {
  return new SignInError('cancelled', 'The sign-in was cancelled. Sign in again when you are ready.');
}

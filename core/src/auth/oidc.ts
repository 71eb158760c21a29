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
import { discoverIdp } from './idp-discovery';
import { LoopbackPortsBusy, openLoopbackRedirect, type LoopbackRedirect } from './loopback';
import { checkAuthorizationResponse, Deadline } from './sign-in-checks';
import { clip, describe, exchangeError, httpStatusOf, refreshError, SignInError } from './sign-in-error';

export { SignInError, type SignInErrorCode } from './sign-in-error';

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

const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
/**
 * When the token response has no expires_in, assume a short life: the app then refreshes early
 * instead of presenting an expired token for hours.
 */
const ASSUMED_ACCESS_TOKEN_LIFETIME_S = 5 * 60;

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

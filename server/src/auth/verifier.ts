import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import { readSecret } from '../config/load';
import type { IdentityConfig, ServerConfig } from '../config/schema';
import { identityOf, type ClaimMapping, type GroupsProblem, type Identity } from './identity';
import { IdpKeys, type IdpState } from './idp-keys';
import type { Principal } from './principal';

export class AuthError extends Error {
  constructor(
    readonly status: 401 | 503,
    message: string,
  ) {
    super(message);
  }
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  groupsClaim: string;
  adminGroups: readonly string[];
  auditorGroups: readonly string[];
  identity: IdentityConfig;
  /** The desktop app's client id: a token meant for it alone is an ID token, not an access token. */
  desktopClientId: string;
  /** The introspection client's secret, read from its SecretRef by the caller. */
  introspectionSecret?: string;
  /** Dev tokens (minted by `stint-server dev-token`) carry a marker; only a dev server accepts them. */
  devMode: boolean;
}

export interface VerifierLog {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

export const DEV_TOKEN_CLAIM = 'stint_dev';
const CACHE_SIZE = 10_000;
const CALL_TIMEOUT_MS = 5000;
const ADMIN = 'This is for your Stint administrator to fix';

const Introspection = z.looseObject({
  active: z.boolean(),
  sub: z.string().optional(),
  exp: z.number().optional(),
  nbf: z.number().optional(),
  iss: z.string().optional(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  client_id: z.string().optional(),
  token_type: z.string().optional(),
});
const Userinfo = z.looseObject({ sub: z.string() });

/**
 * Turns a bearer token into a person. JWT access tokens are checked against the issuer's keys
 * (signature, iss, aud, exp, nbf with the configured clock tolerance) and must be access
 * tokens, not ID tokens; opaque ones are asked about by RFC 7662 introspection. Groups, login,
 * name and email are then read where identity.claimsFrom says. A verified token is remembered
 * (by its exact text) until it expires, so the IdP is not asked again for every call.
 */
export function createVerifier(options: VerifierOptions & { now?: () => number; fetch?: typeof fetch; log?: VerifierLog }) {
  // Two clocks: `now` ages the IdP's keys (tests move it); token times (exp, nbf, and how long a
  // verified token is remembered) are read on the real clock, as jose and the IdP read them.
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const { identity } = options;
  const tolerance = identity.clockTolerance;
  const mapping: ClaimMapping = { ...identity.claims, groups: identity.claims.groups ?? options.groupsClaim };
  const verified = new Map<string, { principal: Principal; until: number }>();
  // The last token's groups problem, for /readyz: an IdP that sends no groups makes every catalog empty.
  let lastMapping: { problem: GroupsProblem | null; at: number } = { problem: null, at: 0 };
  const warnedSubs = new Set<string>();
  const keys = new IdpKeys({
    issuer: options.issuer,
    maxStaleMs: identity.keysMaxStale * 1000,
    now,
    fetch: doFetch,
    onChange: (state) => (state.state === 'ok' ? options.log?.info({ idp: state.detail }, 'the identity provider can be reached again') : options.log?.warn({ idp: state.detail }, 'the identity provider cannot be reached')),
  });

  async function metadata() {
    try {
      return await keys.metadata();
    } catch (error) {
      throw new AuthError(503, `Stint cannot reach the identity provider to check your token (${(error as Error).message}); try again shortly.`);
    }
  }

  /** Verifies a JWT access token; its claims. */
  async function verifyJwt(token: string): Promise<JWTPayload> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys.getKey, { issuer: options.issuer, audience: options.audience, clockTolerance: tolerance }));
    } catch (error) {
      if (error instanceof AuthError) throw error;
      // Anything but jose's own verdict came from fetching the keys.
      if (!(error instanceof errors.JOSEError)) {
        throw new AuthError(503, `Stint cannot reach the identity provider to check your token (${(error as Error).message}); try again shortly.`);
      }
      throw new AuthError(401, refusal(error, options, Date.now()));
    }
    if (!identity.acceptIdTokenTraits) {
      const problem = idTokenTrait(decodeProtectedHeader(token).typ, payload, options.desktopClientId);
      if (problem) throw new AuthError(401, `This is an ID token, not an access token (${problem}); send the access token. ${ADMIN} if the app sent it: check desktopClient.authorizationParams (e.g. the RFC 8707 resource), or set identity.acceptIdTokenTraits if this IdP's access tokens really look like this.`);
    }
    return payload;
  }

  async function introspect(token: string): Promise<z.infer<typeof Introspection>> {
    const { introspection } = identity;
    if (!introspection || !options.introspectionSecret) {
      throw new AuthError(401, `Your access token is not a JWT, and this server can only check opaque tokens by introspection. ${ADMIN}: set identity.introspection (clientId and clientSecret), or make the identity provider issue JWT access tokens for audience ${options.audience}.`);
    }
    const endpoint = (await metadata()).introspection_endpoint;
    if (!endpoint) throw new AuthError(401, `The identity provider announces no introspection endpoint, so opaque tokens cannot be checked. ${ADMIN}: issue JWT access tokens.`);
    const basic = Buffer.from(`${encodeURIComponent(introspection.clientId)}:${encodeURIComponent(options.introspectionSecret)}`).toString('base64');
    const response = await callIdp(doFetch, endpoint, { method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString() }, 'introspection');
    if (response.status === 401 || response.status === 403) throw new AuthError(503, `The identity provider refused Stint's introspection client (HTTP ${response.status}). ${ADMIN}: check identity.introspection.clientId and clientSecret.`);
    if (!response.ok) throw new AuthError(503, `The identity provider's introspection answered HTTP ${response.status}; try again shortly.`);
    const parsed = Introspection.safeParse(await response.json().catch(() => null));
    if (!parsed.success) throw new AuthError(503, 'The identity provider\'s introspection answer is not what RFC 7662 describes; try again shortly.');
    const info = parsed.data;
    const t = Date.now() / 1000;
    if (!info.active) throw new AuthError(401, 'Your access token is not active at the identity provider (expired or revoked). Sign in again.');
    if (info.token_type && !/access_token|bearer/i.test(info.token_type)) throw new AuthError(401, `That is a ${info.token_type}, not an access token; send the access token.`);
    if (info.iss !== undefined && info.iss !== options.issuer) throw new AuthError(401, `Your access token was issued by ${info.iss}, not by ${options.issuer}. Sign in again.`);
    if (info.exp !== undefined && info.exp + tolerance < t) throw new AuthError(401, 'Your access token has expired. Sign in again.');
    const audiences = info.aud === undefined ? [] : [info.aud].flat();
    // Without an audience, the token must at least have been issued to Stint's own app.
    if (audiences.length > 0 ? !audiences.includes(options.audience) : info.client_id !== options.desktopClientId) {
      throw new AuthError(401, `Your access token is not meant for this Stint server (audience ${options.audience}). Sign in again; ${ADMIN.toLowerCase()} if it repeats: desktopClient.authorizationParams.`);
    }
    if (!info.sub) throw new AuthError(401, 'The identity provider\'s introspection names no subject (sub) for your token. ' + ADMIN + ': the introspection client may need permission to see it.');
    return info;
  }

  async function userinfo(token: string, sub: string): Promise<Record<string, unknown>> {
    const endpoint = (await metadata()).userinfo_endpoint;
    if (!endpoint) throw new AuthError(503, `The identity provider announces no userinfo endpoint. ${ADMIN}: set identity.claimsFrom to access_token or introspection.`);
    const response = await callIdp(doFetch, endpoint, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, 'userinfo');
    if (response.status === 401 || response.status === 403) {
      throw new AuthError(401, `The identity provider's userinfo refused your access token (HTTP ${response.status}). Sign in again; ${ADMIN.toLowerCase()} if it repeats: the token may lack the openid scope (desktopClient.scopes).`);
    }
    if (!response.ok) throw new AuthError(503, `The identity provider's userinfo answered HTTP ${response.status}; try again shortly.`);
    const parsed = Userinfo.safeParse(await response.json().catch(() => null));
    if (!parsed.success) throw new AuthError(503, `The identity provider's userinfo answer is not JSON with a sub. ${ADMIN}: signed userinfo responses are not supported; set identity.claimsFrom.`);
    // Threat: a userinfo answer about someone else (a mix-up) must not become this token's person.
    if (parsed.data.sub !== sub) throw new AuthError(401, 'The identity provider\'s userinfo describes someone other than your token\'s subject. Sign in again.');
    return parsed.data;
  }

  function noteMapping(found: Identity, problem: GroupsProblem | undefined) {
    lastMapping = { problem: problem ?? null, at: now() };
    if (problem && !warnedSubs.has(found.sub)) {
      if (warnedSubs.size > CACHE_SIZE) warnedSubs.clear();
      warnedSubs.add(found.sub);
      options.log?.warn({ sub: found.sub, claimsFrom: identity.claimsFrom, claim: mapping.groups }, `${problem.message}: this person has no groups, so sees no systems (settings identity.claimsFrom, identity.claims.groups)`);
    }
  }

  /**
   * The ID token the app sent beside the access token (claimsFrom id_token): the IdP's own
   * signature, issued to the desktop client, about the same person, and not expired. Its
   * claims, and when it expires (the pair is remembered no longer than either).
   */
  async function idTokenClaims(idToken: string | undefined, sub: string): Promise<{ claims: JWTPayload; expiresAt: number }> {
    if (!idToken) {
      throw new AuthError(401, `This server reads your groups from your ID token, and none came with the request. Sign in again; ${ADMIN.toLowerCase()} if it repeats: the app must be one that sends it (X-Stint-Id-Token), or set identity.claimsFrom.`);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, keys.getKey, { issuer: options.issuer, audience: options.desktopClientId, clockTolerance: tolerance }));
    } catch (error) {
      if (!(error instanceof errors.JOSEError)) throw new AuthError(503, `Stint cannot reach the identity provider to check your ID token (${(error as Error).message}); try again shortly.`);
      if (error instanceof errors.JWTExpired) {
        throw new AuthError(401, `Your ID token has expired, and the identity provider sent no new one when Stint refreshed your session. Sign in again; ${ADMIN.toLowerCase()} if it repeats: this IdP does not renew ID tokens, so set identity.claimsFrom to userinfo.`);
      }
      throw new AuthError(401, `Your ID token was refused (${error.message}). Sign in again.`);
    }
    // Threat: someone else's ID token (their groups) beside your access token.
    if (payload.sub !== sub) throw new AuthError(401, 'Your ID token is about someone other than your access token. Sign in again.');
    return { claims: payload, expiresAt: (payload.exp ?? 0) * 1000 };
  }

  async function principalFor(token: string, idToken?: string): Promise<{ principal: Principal; expiresAt: number }> {
    const isJwt = /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
    let sub: string;
    let expiresAt: number;
    let claims: Record<string, unknown>;
    let introspected: z.infer<typeof Introspection> | null = null;
    if (isJwt) {
      const payload = await verifyJwt(token);
      if (payload[DEV_TOKEN_CLAIM] && !options.devMode) throw new AuthError(401, 'Dev tokens are only accepted by a server in dev mode. Sign in again.');
      if (!payload.sub) throw new AuthError(401, `Your access token names no subject (sub). ${ADMIN}: the identity provider must put sub in access tokens.`);
      sub = payload.sub;
      expiresAt = (payload.exp ?? 0) * 1000;
      claims = payload;
    } else {
      introspected = await introspect(token);
      sub = introspected.sub!;
      expiresAt = (introspected.exp ?? Date.now() / 1000 + 60) * 1000;
      claims = introspected;
    }
    if (identity.claimsFrom === 'userinfo') claims = await userinfo(token, sub);
    else if (identity.claimsFrom === 'id_token') {
      const fromIdToken = await idTokenClaims(idToken, sub);
      claims = fromIdToken.claims;
      if (fromIdToken.expiresAt > 0 && (expiresAt <= 0 || fromIdToken.expiresAt < expiresAt)) expiresAt = fromIdToken.expiresAt;
    }
    else if (identity.claimsFrom === 'introspection' && !introspected) {
      const info = await introspect(token);
      if (info.sub !== sub) throw new AuthError(401, 'The identity provider\'s introspection describes someone other than your token\'s subject. Sign in again.');
      claims = info;
    }
    const { identity: found, problem } = identityOf(sub, claims, mapping);
    noteMapping(found, problem);
    if (problem && problem.kind !== 'absent') {
      throw new AuthError(401, `Stint cannot tell which groups you are in: ${problem.message}. ${ADMIN}: settings identity.claimsFrom and identity.claims.groups (docs/identity-providers.md).`);
    }
    const principal: Principal = {
      ...found,
      isAdmin: found.groups.some((g) => options.adminGroups.includes(g)),
      isAuditor: found.groups.some((g) => options.auditorGroups.includes(g)),
      ...(expiresAt > 0 ? { tokenExpiresAt: expiresAt } : {}),
    };
    return { principal, expiresAt };
  }

  /** What a verified pair is remembered by: the access token, and the ID token where claims come from it. */
  const cacheKey = (token: string, idToken: string | undefined) => (identity.claimsFrom === 'id_token' ? `${token} ${idToken ?? ''}` : token);

  /** The principal of a token verified before and still good, with no work done; else null. */
  function remembered(header: string | undefined, idToken?: string): Principal | null {
    const token = bearer(header);
    const cached = token ? verified.get(cacheKey(token, idToken)) : undefined;
    // Remembered only while the keys that verified it could still verify it.
    return cached && cached.until > Date.now() && keys.usable() ? cached.principal : null;
  }

  return {
    /** Resolves the identity provider early so the first request does not pay for discovery. */
    async warmUp(): Promise<boolean> {
      return keys.warmUp();
    },
    /** The IdP as this server sees it, and whether the last token's claims gave groups, for /readyz. */
    state(): { idp: IdpState; mapping: { ok: boolean; detail: string } } {
      const { problem } = lastMapping;
      return {
        idp: keys.state(),
        mapping: problem
          ? { ok: false, detail: `the last token seen: ${problem.message} (settings identity.claimsFrom, identity.claims.groups)` }
          : { ok: true, detail: lastMapping.at ? 'the last token seen gave groups' : 'no token seen yet' },
      };
    },
    remembered,
    /** `idToken`: the X-Stint-Id-Token header, read only when identity.claimsFrom is id_token. */
    async verify(header: string | undefined, idToken?: string): Promise<Principal> {
      const token = bearer(header);
      if (!token) throw new AuthError(401, 'Send an access token as "Authorization: Bearer <token>"; sign in to Stint to get one.');
      const known = remembered(header, idToken);
      if (known) return known;
      const key = cacheKey(token, idToken);
      verified.delete(key);
      const { principal, expiresAt } = await principalFor(token, idToken);
      if (verified.size >= CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(key, { principal, until: expiresAt });
      return principal;
    },
  };
}

export type Verifier = ReturnType<typeof createVerifier>;

const bearer = (header: string | undefined): string | null => (header ? (/^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/.exec(header)?.[1] ?? null) : null);

/** The verifier a server configuration asks for (the introspection secret read from its reference). */
export function verifierFor(c: ServerConfig, extra: { devMode: boolean; log?: VerifierLog; now?: () => number }): Verifier {
  return createVerifier({
    issuer: c.issuer,
    audience: c.audience,
    groupsClaim: c.groupsClaim,
    adminGroups: c.adminGroups,
    auditorGroups: c.auditorGroups,
    identity: c.identity,
    desktopClientId: c.desktopClient.clientId,
    ...(c.identity.introspection ? { introspectionSecret: readSecret(c.identity.introspection.clientSecret, 'identity.introspection.clientSecret') } : {}),
    ...extra,
  });
}

async function callIdp(doFetch: typeof fetch, url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await doFetch(url, { ...init, signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  } catch (error) {
    throw new AuthError(503, `Stint cannot reach the identity provider's ${what} endpoint (${(error as Error).message}); try again shortly.`);
  }
}

/**
 * Why a token that verified is not an access token, or null. RFC 9068's `typ: at+jwt` settles
 * it; without it, traits only ID tokens have (OIDC Core 2, 3.1.3.6): a nonce, an at_hash or
 * c_hash, or an audience that is the desktop client alone.
 */
export function idTokenTrait(typ: string | undefined, payload: JWTPayload, desktopClientId: string): string | null {
  if (typ && /^(application\/)?at\+jwt$/i.test(typ)) return null;
  if ('nonce' in payload) return 'it carries a nonce';
  if ('at_hash' in payload || 'c_hash' in payload) return 'it carries at_hash';
  const audiences = [payload.aud ?? []].flat();
  if (payload.azp === desktopClientId && audiences.includes(desktopClientId)) return `its audience includes the desktop client ${desktopClientId}`;
  return null;
}

/** What a person is told when their token is refused; clock trouble is named as such. */
function refusal(error: unknown, options: Pick<VerifierOptions, 'identity' | 'audience' | 'issuer'>, nowMs: number): string {
  const tolerance = options.identity.clockTolerance;
  const payload = (error as { payload?: JWTPayload }).payload;
  const skew = (at: number | undefined) => (at === undefined ? null : Math.round(at - nowMs / 1000));
  if (error instanceof errors.JWTExpired) {
    const ahead = skew(payload?.iat);
    if (ahead !== null && ahead > tolerance) return clocks(ahead, tolerance, 'iat');
    return 'Your access token has expired. Sign in again.';
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') {
      const ahead = skew(payload?.[error.claim] as number | undefined);
      if (ahead !== null) return clocks(ahead, tolerance, error.claim);
    }
    if (error.claim === 'aud') return `Your access token is not meant for this Stint server (its "aud" claim is ${JSON.stringify(payload?.aud)}, this server is ${options.audience}). ${ADMIN}: the audience setting, or desktopClient.authorizationParams (e.g. the RFC 8707 resource) so the IdP issues tokens for it.`;
    if (error.claim === 'iss') return `Your access token was issued by ${JSON.stringify(payload?.iss)}, not by ${options.issuer}. ${ADMIN}: the issuer setting.`;
    return `Your access token's "${error.claim}" claim is wrong (${error.reason}). Sign in again.`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'Your access token\'s signature does not verify. Sign in again.';
  if (error instanceof errors.JWKSNoMatchingKey) return 'Your access token was not signed by the identity provider\'s current keys. Sign in again.';
  if (error instanceof errors.JOSEError) return `Your access token is not a valid token (${error.code}). Sign in again.`;
  return 'Your access token could not be checked. Sign in again.';
}

function clocks(aheadSeconds: number, tolerance: number, claim: string): string {
  return `Your access token's "${claim}" claim is ${Math.abs(aheadSeconds)} s ahead of this server's clock: the identity provider's clock and the server's differ by ${Math.abs(aheadSeconds)} s (allowed: ${tolerance} s). ${ADMIN}: set the wrong clock right (NTP), or raise identity.clockTolerance.`;
}

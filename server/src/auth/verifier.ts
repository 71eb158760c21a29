import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
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
  /** Dev tokens (minted by `stint-server dev-token`) carry a marker; only a dev server accepts them. */
  devMode: boolean;
}

const Discovery = z.object({ issuer: z.string(), jwks_uri: z.url() });
export const DEV_TOKEN_CLAIM = 'stint_dev';
const VERIFIED_CACHE_MS = 60_000;
const VERIFIED_CACHE_SIZE = 10_000;

/** Reads a claim by name, or by a dotted path for IdPs that nest groups ("realm_access.roles"). */
function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  return path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), payload);
}

/**
 * Verifies bearer access tokens (JWT) against the issuer's keys found through OIDC discovery:
 * signature, iss, aud, exp and nbf. Keys are cached and refetched on an unknown kid by jose.
 */
export function createVerifier(options: VerifierOptions & { now?: () => number }) {
  const now = options.now ?? Date.now;
  // Verified tokens, by their exact text: an app sends the same access token with every call,
  // and checking its RSA/EC signature anew each time was the largest cost of a read. An entry
  // lives at most a minute and never past the token's own `exp`, so expiry is still enforced
  // to the second; a changed auth config builds a new verifier (server.ts), so a new cache.
  const verified = new Map<string, { principal: Principal; until: number }>();
  let jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  let discovering: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;

  async function keys() {
    if (jwks) return jwks;
    discovering ??= (async () => {
      const url = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`discovery answered ${response.status}`);
      const doc = Discovery.parse(await response.json());
      if (doc.issuer !== options.issuer) throw new Error(`discovery names issuer ${doc.issuer}, expected ${options.issuer}`);
      jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      return jwks;
    })().finally(() => {
      discovering = null;
    });
    return discovering;
  }

  return {
    /** Resolves the identity provider early so the first request does not pay for discovery. */
    async warmUp(): Promise<boolean> {
      try {
        await keys();
        return true;
      } catch {
        return false;
      }
    },
    async verify(header: string | undefined): Promise<Principal> {
      const match = header ? /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/.exec(header) : null;
      if (!match?.[1]) throw new AuthError(401, 'Send an access token as "Authorization: Bearer <token>"; sign in to Stint to get one.');
      const cached = verified.get(match[1]);
      if (cached && cached.until > now()) return cached.principal;
      if (cached) verified.delete(match[1]);
      let keySet;
      try {
        keySet = await keys();
      } catch (error) {
        throw new AuthError(503, `Stint cannot reach the identity provider to check your token (${(error as Error).message}); try again shortly.`);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(match[1], keySet, { issuer: options.issuer, audience: options.audience, clockTolerance: 5 }));
      } catch (error) {
        throw new AuthError(401, `Your access token was refused: ${explain(error)}. Sign in again.`);
      }
      if (payload[DEV_TOKEN_CLAIM] && !options.devMode) throw new AuthError(401, 'Dev tokens are only accepted by a server in dev mode. Sign in again.');
      if (!payload.sub) throw new AuthError(401, 'Your access token names no subject (sub). Sign in again.');
      const rawGroups = claimAt(payload, options.groupsClaim);
      const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      const principal: Principal = {
        sub: payload.sub,
        name: str(payload.name) ?? str(payload.preferred_username),
        email: str(payload.email),
        groups,
        isAdmin: groups.some((g) => options.adminGroups.includes(g)),
        isAuditor: groups.some((g) => options.auditorGroups.includes(g)),
      };
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(match[1], { principal, until: Math.min(now() + VERIFIED_CACHE_MS, (payload.exp ?? 0) * 1000) });
      return principal;
    },
  };
}

export type Verifier = ReturnType<typeof createVerifier>;

function explain(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'it has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `its "${error.claim}" claim is wrong (${error.reason})`;
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'it was not signed by the identity provider';
  if (error instanceof errors.JOSEError) return `it is not a valid token (${error.code})`;
  return 'it could not be checked';
}

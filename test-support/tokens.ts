// Access tokens for anyone, signed with a dev identity provider's own key (read from its data
// folder, where server/src/dev/idp.ts keeps it). The dev IdP signs in only its four seeded
// people; tests that break claims, and tests and benchmarks that need many requesters (one
// person has one live grant per system), sign their own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, importJWK, type JWK } from 'jose';

export interface TokenOptions {
  exp?: number;
  nbf?: number;
  iat?: number;
  aud?: string | string[];
  iss?: string;
  sub?: string;
  /** The JWT `typ` header; null leaves it out. Default: at+jwt, an access token. */
  typ?: string | null;
}

export type TokenSigner = (claims: Record<string, unknown>, options?: TokenOptions) => Promise<string>;

/** Imports the key once, so each token costs one signature (about a millisecond with RS256). */
export async function tokenSigner(idpDataDir: string, issuer: string, audience = 'stint-api'): Promise<TokenSigner> {
  const jwks = JSON.parse(readFileSync(join(idpDataDir, 'idp-jwks.json'), 'utf8')) as { keys: (JWK & { kid: string; alg?: string })[] };
  const jwk = jwks.keys[0]!;
  const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256');
  const key = await importJWK(jwk, alg);
  return (claims, options = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg, kid: jwk.kid, ...(options.typ === null ? {} : { typ: options.typ ?? 'at+jwt' }) })
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience)
      .setSubject(options.sub ?? 'mallory')
      .setIssuedAt(options.iat ?? now - 60)
      .setExpirationTime(options.exp ?? now + 600)
      .setNotBefore(options.nbf ?? now - 60)
      .sign(key);
  };
}

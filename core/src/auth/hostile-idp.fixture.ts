/**
 * Test-only: a tiny OpenID Provider on 127.0.0.1 that can be told to lie. Honest by default
 * (tests prove that first, so a refusal later is the client's check and not a broken fixture);
 * each test then changes exactly one thing: the ID token's nonce, iss or aud, its signing key,
 * the `iss` or `state` of the authorization response, or an error instead of a code.
 *
 * The authorization endpoint does not show a login page: it redirects at once, so a plain
 * `fetch` can play the browser.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface HostileBehaviour {
  /** Overrides in the ID token. */
  idToken?: { nonce?: string; iss?: string; aud?: string; signWithUnknownKey?: boolean; omit?: boolean };
  /** Overrides in the authorization response (the redirect to the app). */
  authorization?: { iss?: string | null; state?: string; error?: string; errorDescription?: string };
  /** Extra fields in the discovery document. */
  discovery?: Record<string, unknown>;
  /** The answer to a refresh_token grant (default: new tokens, no ID token). */
  refresh?: { status: number; body: string; contentType?: string };
  /** The answer of /revoke (advertised when set), e.g. 401 with an empty body as glewlwyd gives a public client. */
  revocation?: { status: number };
}

export interface AuthorizationRequestSeen {
  params: Record<string, string>;
}
export interface TokenRequestSeen {
  params: Record<string, string>;
  authorization: string | undefined;
}

export interface HostileIdp {
  issuer: string;
  clientId: string;
  behave(behaviour: HostileBehaviour): void;
  readonly authorizationRequests: AuthorizationRequestSeen[];
  readonly tokenRequests: TokenRequestSeen[];
  close(): Promise<void>;
}

const CLIENT_ID = 'stint-desktop';

export async function startHostileIdp(): Promise<HostileIdp> {
  const signing = await generateKeyPair('RS256', { extractable: true });
  const unknown = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: 'hostile-1', alg: 'RS256', use: 'sig' };
  let behaviour: HostileBehaviour = {};
  const codes = new Map<string, { nonce: string | undefined; challenge: string | undefined; redirectUri: string }>();
  const authorizationRequests: AuthorizationRequestSeen[] = [];
  const tokenRequests: TokenRequestSeen[] = [];
  let issuer = '';

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => json(res, 500, { error: 'server_error', error_description: String(error) }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /.well-known/openid-configuration':
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
          ...(behaviour.revocation ? { revocation_endpoint: `${issuer}/revoke` } : {}),
          authorization_response_iss_parameter_supported: true,
          ...behaviour.discovery,
        });
      case 'GET /jwks':
        return json(res, 200, { keys: [publicJwk] });
      case 'GET /authorize': {
        const params = Object.fromEntries(url.searchParams);
        authorizationRequests.push({ params });
        const redirectUri = params.redirect_uri ?? '';
        const target = new URL(redirectUri);
        const auth = behaviour.authorization ?? {};
        if (auth.error) {
          target.searchParams.set('error', auth.error);
          if (auth.errorDescription) target.searchParams.set('error_description', auth.errorDescription);
        } else {
          const code = randomBytes(16).toString('base64url');
          codes.set(code, { nonce: params.nonce, challenge: params.code_challenge, redirectUri });
          target.searchParams.set('code', code);
        }
        target.searchParams.set('state', auth.state ?? params.state ?? '');
        const iss = auth.iss === undefined ? issuer : auth.iss;
        if (iss !== null) target.searchParams.set('iss', iss);
        res.writeHead(302, { location: target.href });
        res.end();
        return;
      }
      case 'POST /token': {
        const params = Object.fromEntries(new URLSearchParams(await body(req)));
        tokenRequests.push({ params, authorization: req.headers.authorization });
        if (params.grant_type === 'refresh_token') {
          const answer = behaviour.refresh;
          if (answer) {
            res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/html', 'cache-control': 'no-store' });
            res.end(answer.body);
            return;
          }
          return json(res, 200, { access_token: randomBytes(24).toString('base64url'), token_type: 'Bearer', expires_in: 120 });
        }
        const clientId = params.client_id ?? basicClientId(req.headers.authorization);
        const grant = params.code ? codes.get(params.code) : undefined;
        if (params.code) codes.delete(params.code);
        const verifierOk = grant?.challenge !== undefined && createHash('sha256').update(params.code_verifier ?? '').digest('base64url') === grant.challenge;
        if (params.grant_type !== 'authorization_code' || !grant || !verifierOk || params.redirect_uri !== grant.redirectUri || clientId !== CLIENT_ID) {
          return json(res, 400, { error: 'invalid_grant', error_description: 'code, verifier, redirect_uri or client_id do not match' });
        }
        const wrong = behaviour.idToken ?? {};
        const idToken = await new SignJWT({ nonce: wrong.nonce ?? grant.nonce, name: 'Mallory Hostile', email: 'mallory@hostile.example' })
          .setProtectedHeader({ alg: 'RS256', kid: 'hostile-1' })
          .setIssuer(wrong.iss ?? issuer)
          .setAudience(wrong.aud ?? CLIENT_ID)
          .setSubject('mallory')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign((wrong.signWithUnknownKey ? unknown.privateKey : signing.privateKey) as CryptoKey);
        return json(res, 200, {
          access_token: randomBytes(24).toString('base64url'),
          token_type: 'Bearer',
          expires_in: 120,
          ...(wrong.omit ? {} : { id_token: idToken }),
          refresh_token: randomBytes(24).toString('base64url'),
        });
      }
      case 'POST /revoke': {
        tokenRequests.push({ params: Object.fromEntries(new URLSearchParams(await body(req))), authorization: req.headers.authorization });
        res.writeHead(behaviour.revocation?.status ?? 200);
        res.end();
        return;
      }
      default:
        return json(res, 404, { error: 'not_found' });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    clientId: CLIENT_ID,
    behave(next) {
      behaviour = next;
    },
    authorizationRequests,
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function basicClientId(header: string | undefined): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  return decodeURIComponent(Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0] ?? '');
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Reading an identity provider's settings (OIDC discovery) and holding them to Stint's rules:
// https only (loopback http for a development IdP), every endpoint under the same rule, PKCE S256.
// Plain http only to this machine (isLoopbackHostname). `localhost` is accepted for the issuer
// (unlike for our redirect URI): what it resolves to is set by this machine's own administrator.
import { isLoopbackHostname } from '@stint/contract';
import * as client from 'openid-client';
import type { OidcSettings } from './oidc';
import { describe, SignInError } from './sign-in-error';

/** Per HTTP request to the IdP (openid-client's option is in seconds). */
const IDP_REQUEST_TIMEOUT_S = 30;
/** Endpoints in the discovery document that the app or the browser will talk to. */
const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'revocation_endpoint', 'end_session_endpoint'] as const;

/**
 * Refuses, before any request, an issuer that would send codes and tokens over the network
 * unprotected. openid-client is https-only by default; its `allowInsecureRequests` is turned on
 * only for an http issuer on this machine's loopback (the dev IdP), because loopback traffic
 * never leaves the machine. Over plain http to any other host, anyone on the path could swap the
 * discovery document or the JWKS (forging ID tokens) and read codes and refresh tokens.
 */
export function checkIssuer(issuer: string): { url: URL; loopbackHttp: boolean } {
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

export async function discoverIdp(settings: OidcSettings): Promise<client.Configuration> {
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

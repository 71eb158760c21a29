import { exportJWK, generateKeyPair, SignJWT, jwtVerify, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { IdpKeys } from './idp-keys';

const ISSUER = 'https://idp.test';

/** A named test double for the IdP's two documents: discovery and a JWKS whose keys the test rotates. */
async function fakeIdp() {
  const keys: { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK }[] = [];
  let up = true;
  let fetches = 0;
  const addKey = async (kid: string) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } });
  };
  const fetchDouble = (async (url: string | URL) => {
    fetches++;
    if (!up) throw new TypeError('fetch failed');
    const body = String(url).endsWith('/openid-configuration') ? { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` } : { keys: keys.map((k) => k.jwk) };
    return new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const sign = (kid: string) => {
    const key = keys.find((k) => k.kid === kid)!;
    return new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setIssuer(ISSUER).setSubject('alice').setExpirationTime('5m').sign(key.privateKey);
  };
  return { addKey, sign, fetch: fetchDouble, down: () => (up = false), fetches: () => fetches };
}

describe('the IdP keys this server holds', () => {
  it('fetches again on a key id it does not know (the IdP rotated), at most every 30 s', async () => {
    const idp = await fakeIdp();
    await idp.addKey('k1');
    let clock = 1_000_000;
    const keys = new IdpKeys({ issuer: ISSUER, maxStaleMs: 86_400_000, fetch: idp.fetch, now: () => clock });
    await jwtVerify(await idp.sign('k1'), keys.getKey);
    await idp.addKey('k2');
    await expect(jwtVerify(await idp.sign('k2'), keys.getKey)).rejects.toThrow(/no applicable key/i); // fetched under 30 s ago
    clock += 31_000;
    await expect(jwtVerify(await idp.sign('k2'), keys.getKey)).resolves.toBeTruthy();
  });

  it('keeps the last good keys while the IdP is down, up to keysMaxStale, and says so', async () => {
    const idp = await fakeIdp();
    await idp.addKey('k1');
    let clock = 1_000_000;
    const changes: string[] = [];
    const keys = new IdpKeys({ issuer: ISSUER, maxStaleMs: 3_600_000, fetch: idp.fetch, now: () => clock, onChange: (s) => changes.push(s.state) });
    const token = await idp.sign('k1');
    await jwtVerify(token, keys.getKey);
    idp.down();
    clock += 20 * 60_000;
    await expect(jwtVerify(token, keys.getKey)).resolves.toBeTruthy(); // answered from the held keys; a refetch runs behind
    await new Promise((r) => setTimeout(r, 10));
    expect(keys.state()).toMatchObject({ state: 'stale', detail: expect.stringMatching(/unreachable .* fetch failed.* for 40 min more/) });
    expect(changes).toEqual(['stale']);
    clock += 41 * 60_000;
    await expect(jwtVerify(token, keys.getKey)).rejects.toThrow(/fetch failed/);
    expect(keys.state().state).toBe('down');
    expect(keys.usable()).toBe(false);
  });
});

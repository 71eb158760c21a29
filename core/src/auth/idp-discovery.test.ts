// The issuer check (checkIssuer in idp-discovery.ts), tested through OidcClient: https only, loopback http for a dev IdP.
import { describe, expect, it, vi } from 'vitest';
import { OidcClient } from './oidc';
import { expectSignInError } from './oidc.fixture';

describe('issuer check', () => {
  it('refuses a remote http issuer before sending anything', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    try {
      for (const issuer of ['http://192.0.2.1', 'http://idp.example.com', 'http://127.0.0.1.nip.io:8080', 'http://[::2]:80', 'ftp://127.0.0.1']) {
        const client = new OidcClient({ issuer, clientId: 'stint-desktop' });
        const open = vi.fn(async () => {});
        const error = await expectSignInError(client.signIn({ open }), 'discovery_failed');
        expect(error.message).toMatch(/https/);
        expect(open).not.toHaveBeenCalled();
        await expectSignInError(client.refresh('rt'), 'discovery_failed');
        await expectSignInError(client.endSessionUrl(null), 'discovery_failed');
        await client.revokeRefreshToken('rt');
      }
      for (const issuer of ['not a url', 'https://user:pw@idp.example.com', 'https://idp.example.com/?tenant=x']) {
        await expectSignInError(new OidcClient({ issuer, clientId: 'stint-desktop' }).signIn({ open: async () => {} }), 'discovery_failed');
      }
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('allows http only to this machine: 127.0.0.1, [::1] and localhost', async () => {
    // Reaching discovery (and failing there, nothing listens on port 9) shows the issuer passed.
    for (const issuer of ['http://127.0.0.1:9', 'http://[::1]:9', 'http://localhost:9']) {
      const error = await expectSignInError(new OidcClient({ issuer, clientId: 'x' }).signIn({ open: async () => {} }), 'discovery_failed');
      expect(error.message, issuer).toMatch(/could not read the sign-in settings/);
    }
  });
});

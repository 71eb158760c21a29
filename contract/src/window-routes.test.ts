import { describe, expect, it } from 'vitest';
import { HOME, MAX_HASH_LENGTH, parseRoute, routeHash, type Route } from './window-routes';

const ID = '3f2c8a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f';

describe('parseRoute', () => {
  it('reads the routes Electron opens', () => {
    expect(parseRoute('')).toEqual(HOME);
    expect(parseRoute('#')).toEqual(HOME);
    expect(parseRoute('#/')).toEqual(HOME);
    expect(parseRoute('#/tray')).toEqual({ view: 'tray' });
    expect(parseRoute('#/reviews')).toEqual({ view: 'reviews' });
    expect(parseRoute('#/settings')).toEqual({ view: 'settings' });
    expect(parseRoute('#/insights')).toEqual({ view: 'insights' });
    expect(parseRoute('#/access')).toEqual({ view: 'access' });
    expect(parseRoute('#/history')).toEqual({ view: 'history' });
    expect(parseRoute(`#/reviews/${ID}`)).toEqual({ view: 'review', requestId: ID });
    expect(parseRoute(`#/requests/${ID}`)).toEqual({ view: 'request', requestId: ID });
    expect(parseRoute(`#/grants/${ID}`)).toEqual({ view: 'grant', grantId: ID });
    expect(parseRoute(`#/grants/${ID.toUpperCase()}`)).toEqual({ view: 'grant', grantId: ID });
  });

  it('reads a prefilled request form', () => {
    expect(parseRoute('#/request?system=staging-db&for=900s&reason=from%20a%20link')).toEqual({
      view: 'new-request',
      prefill: { systemId: 'staging-db', durationSeconds: 900, reason: 'from a link' },
    });
    expect(parseRoute('#/request?system=prod-db&for=1h30m&reason=a+b')).toEqual({
      view: 'new-request',
      prefill: { systemId: 'prod-db', durationSeconds: 5400, reason: 'a b' },
    });
    expect(parseRoute('#/request?system=prod-db')).toEqual({ view: 'new-request', prefill: { systemId: 'prod-db', durationSeconds: null, reason: '' } });
    expect(parseRoute(`#/request?system=x&for=31d`)).toMatchObject({ prefill: { durationSeconds: 31 * 86_400 } });
    expect(parseRoute('#/request?system=x&reason=line%0Anext')).toMatchObject({ prefill: { reason: 'line\nnext' } });
    // A pinned request's ticket; one line, no controls, or the whole link is refused.
    expect(parseRoute('#/request?system=prod-db&ticket=INC-7')).toMatchObject({ prefill: { ticket: 'INC-7' } });
    for (const bad of ['INC-7%0Ax', 'a%1B[2K', '', 'x'.repeat(201)]) expect(parseRoute(`#/request?system=prod-db&ticket=${bad}`)).toEqual(HOME);
  });

  it('round-trips routeHash', () => {
    const routes: Route[] = [
      HOME,
      { view: 'tray' },
      { view: 'reviews' },
      { view: 'review', requestId: ID },
      { view: 'access' },
      { view: 'request', requestId: ID },
      { view: 'grant', grantId: ID },
      { view: 'history' },
      { view: 'settings' },
      { view: 'insights' },
      { view: 'new-request', prefill: { systemId: 'staging-db', durationSeconds: 900, reason: 'fix it & go? 100% #now' } },
      { view: 'new-request', prefill: { systemId: 'staging-db', durationSeconds: null, reason: '' } },
      { view: 'new-request', prefill: { systemId: 'prod-db', durationSeconds: 900, reason: 'on-call', ticket: 'INC-7' } },
    ];
    for (const route of routes) expect(parseRoute(routeHash(route))).toEqual(route);
    expect(routeHash({ view: 'new-request', prefill: { systemId: 'a', durationSeconds: 60, reason: 'x y' } })).toBe('#/request?system=a&for=60s&reason=x+y');
  });

  it('leaves web mode’s token fragment to the bridge', () => {
    expect(parseRoute('#token=abc')).toEqual(HOME);
    expect(parseRoute('#token=abc&x=1')).toEqual(HOME);
    expect(parseRoute('token=abc')).toEqual(HOME);
  });

  it('turns hostile or malformed hashes into the home route', () => {
    const hostile = [
      // ids that are not UUIDs
      '#/reviews/123',
      '#/grants/not-a-uuid',
      `#/grants/${ID}x`,
      `#/grants/${ID.slice(1)}`,
      `#/reviews/${ID}/approve`,
      '#/requests/%E0%A4%A',
      '#/requests/..%2F..%2Fsettings',
      `#/reviews/${encodeURIComponent(`${ID}/x`)}`,
      '#/grants/',
      // schemes and odd paths
      'javascript:alert(1)',
      '#javascript:alert(1)',
      '#//evil.example/tray',
      '#/https://evil.example',
      '#/Settings',
      '#/settings/',
      '#/settings?x=1',
      `#/reviews?id=${ID}`,
      '#/constructor',
      '#/__proto__',
      '#/toString',
      // request forms that do not validate
      '#/request',
      '#/request?',
      '#/request?for=15m',
      '#/request?system=Prod-DB',
      '#/request?system=javascript:alert(1)',
      '#/request?system=../etc',
      `#/request?system=${'a'.repeat(64)}`,
      '#/request?system=a&for=32d',
      '#/request?system=a&for=744h1s',
      '#/request?system=a&for=0s',
      '#/request?system=a&for=-5m',
      '#/request?system=a&for=15',
      '#/request?system=a&for=1e9s',
      `#/request?system=a&for=${'9'.repeat(400)}s`,
      '#/request?system=a&for=99999999999999999999d',
      '#/request?system=a&approve=1',
      '#/request?system=a&submit=true',
      '#/request?system=a&system=b',
      '#/request?system=a&for=5m&for=1h',
      `#/request?system=a&reason=${'r'.repeat(1001)}`,
      '#/request?system=a&reason=%E2%80%AEtxet',
      '#/request?system=a&reason=bell%07',
      '#/request?system=a&reason=%E0%A4%A',
      `#/request?system=a&reason=${'x'.repeat(MAX_HASH_LENGTH)}`,
      `#/${'x'.repeat(1_000_000)}`,
    ];
    for (const hash of hostile) expect(parseRoute(hash), hash.slice(0, 80)).toEqual(HOME);
    expect(parseRoute(undefined as unknown as string)).toEqual(HOME);
  });
});

import { describe, expect, it } from 'vitest';
import { deepLinkFromArgv, parseDeepLink } from './deep-link';

const ok = (url: string) => {
  const result = parseDeepLink(url);
  if (!result.ok) throw new Error(result.error);
  return result.link;
};
const error = (url: string) => {
  const result = parseDeepLink(url);
  if (result.ok) throw new Error(`accepted ${url}`);
  return result.error;
};

describe('parseDeepLink', () => {
  it('reads a request link', () => {
    expect(ok('stint://request?system=prod-db&for=30m&reason=INC-42%20failover')).toEqual({
      kind: 'request',
      systemId: 'prod-db',
      durationSeconds: 1800,
      reason: 'INC-42 failover',
    });
    expect(ok('stint://request/?system=prod-db')).toEqual({ kind: 'request', systemId: 'prod-db', durationSeconds: null, reason: '' });
    expect(ok('stint://request?system=prod-db&for=1h30m').durationSeconds).toBe(5400);
  });

  it('refuses other schemes and hosts', () => {
    expect(error('https://request?system=prod-db')).toMatch(/Only stint:\/\//);
    expect(error('javascript:alert(1)')).toMatch(/Only stint:\/\//);
    expect(error('stint://approve?request=x')).toMatch(/only open a request form/);
    expect(error('stint://user:pw@request?system=prod-db')).toMatch(/no user/);
    expect(error('stint://request:8080?system=prod-db')).toMatch(/no user, password or port/);
    expect(error('stint://request/extra?system=prod-db')).toMatch(/no path/);
    expect(error('not a url')).toMatch(/not a link/);
  });

  it('refuses bad system ids and durations', () => {
    expect(error('stint://request?for=30m')).toMatch(/no system/);
    expect(error('stint://request?system=Prod_DB')).toMatch(/not a system id/);
    expect(error('stint://request?system=../etc')).toMatch(/not a system id/);
    expect(error('stint://request?system=prod-db&for=soon')).toMatch(/not a duration/);
    expect(error('stint://request?system=prod-db&for=0m')).toMatch(/not a duration/);
    expect(error('stint://request?system=prod-db&for=31d')).toMatch(/more than 30 days/);
  });

  it('refuses unknown, repeated and over-long values', () => {
    expect(error('stint://request?system=prod-db&approve=1')).toMatch(/Unknown link parameter "approve"/);
    expect(error('stint://request?system=prod-db&system=other')).toMatch(/twice/);
    expect(error(`stint://request?system=prod-db&reason=${'a'.repeat(1001)}`)).toMatch(/longer than 1000/);
    expect(error(`stint://request?system=prod-db&reason=${'a'.repeat(2100)}`)).toMatch(/at most 2048/);
    expect(error('stint://request?system=prod-db&reason=ok%0Dhidden')).toMatch(/control characters/);
    expect(error('stint://request?system=prod-db&reason=%E2%80%AEevil')).toMatch(/control characters/);
  });
});

describe('deepLinkFromArgv', () => {
  it('finds the link among Electron flags', () => {
    expect(deepLinkFromArgv(['/opt/Stint/stint', '--no-sandbox', 'stint://request?system=a'])).toBe('stint://request?system=a');
    expect(deepLinkFromArgv(['/opt/Stint/stint'])).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { identityOf, readClaim, readGroups } from './identity';

const mapping = { groups: 'groups', groupsDelimiter: ',', login: 'preferred_username', name: 'name', email: 'email' };

describe('reading claims the way IdPs send them', () => {
  it('finds a claim by its exact name before trying a dotted path', () => {
    const claims = { 'cognito:groups': ['a'], 'https://example.com/roles': ['r'], realm_access: { roles: ['admin'] }, 'realm_access.roles': undefined };
    expect(readClaim(claims, 'cognito:groups')).toEqual(['a']);
    expect(readClaim(claims, 'https://example.com/roles')).toEqual(['r']);
    expect(readClaim({ realm_access: { roles: ['admin'] } }, 'realm_access.roles')).toEqual(['admin']);
    expect(readClaim({}, 'constructor')).toBeUndefined(); // own properties only
    expect(readClaim({ a: {} }, 'a.toString')).toBeUndefined();
  });

  it('takes groups from an array or a delimited string, trimmed and without repeats', () => {
    expect(readGroups({ groups: ['a', 'b', 'a'] }, mapping)).toEqual({ groups: ['a', 'b'] });
    expect(readGroups({ groups: 'engineering, sre-leads,,' }, mapping)).toEqual({ groups: ['engineering', 'sre-leads'] });
    expect(readGroups({ groups: 'a b' }, { ...mapping, groupsDelimiter: ' ' })).toEqual({ groups: ['a', 'b'] });
  });

  it('says why groups are unknown: absent, Entra overage, or not strings', () => {
    expect(readGroups({}, mapping)).toMatchObject({ kind: 'absent' });
    expect(readGroups({ _claim_names: { groups: 'src1' } }, mapping)).toMatchObject({ kind: 'overage' });
    expect(readGroups({ groups: [1, 2] }, mapping)).toMatchObject({ kind: 'malformed' });
    expect(readGroups({ groups: { a: 1 } }, mapping)).toMatchObject({ kind: 'malformed' });
  });

  it('uses the login claim for {user}, and the sub only when there is none', () => {
    expect(identityOf('x1', { preferred_username: 'alice', groups: [] }, mapping).identity).toMatchObject({ sub: 'x1', login: 'alice', name: 'alice' });
    expect(identityOf('x1', { groups: [] }, mapping).identity).toMatchObject({ login: 'x1', name: null });
    expect(identityOf('x1', { upn: 'alice@corp', name: 'Alice' }, { ...mapping, login: 'upn' }).identity).toMatchObject({ login: 'alice@corp', name: 'Alice' });
  });
});

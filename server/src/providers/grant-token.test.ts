import fc from 'fast-check';
import { v7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newRowId } from '../store/ids';
import { GRANT_TOKEN_CHARS, grantToken } from './grant-token';

describe('grant tokens (the grant-unique part of provider names)', () => {
  it('never repeat across 100,000 grants made within one second', () => {
    // Their ids' time prefixes all fall in one second (a hundred per millisecond).
    const second = Date.now();
    const ids = Array.from({ length: 100_000 }, (_, i) => v7({ msecs: second + (i % 1000) }));
    // The old name part (the id's first 8 hex digits, a timestamp) gave them one or two names.
    expect(new Set(ids.map((id) => id.slice(0, 8))).size).toBeLessThanOrEqual(2);
    expect(new Set(ids.map(grantToken)).size).toBe(100_000);
    // And the server's own ids, as fast as it makes them.
    expect(new Set(Array.from({ length: 100_000 }, () => grantToken(newRowId()))).size).toBe(100_000);
  });

  it('are deterministic, short, and use only a-z and 2-7', () => {
    fc.assert(
      fc.property(fc.uuid(), (id) => {
        const token = grantToken(id);
        expect(token).toMatch(new RegExp(`^[a-z2-7]{${GRANT_TOKEN_CHARS}}$`));
        expect(grantToken(id.toUpperCase())).toBe(token);
      }),
    );
  });

  it('differ whenever the random bits differ, and ignore the time prefix', () => {
    const a = '01938a3c-5b2e-7abc-9def-0123456789ab';
    expect(grantToken(a)).not.toBe(grantToken('01938a3c-5b2e-7abc-9def-0123456789aa'));
    expect(grantToken(a)).not.toBe(grantToken('01938a3c-5b2e-7abd-9def-0123456789ab'));
    expect(grantToken(a)).toBe(grantToken('ffffffff-ffff-7abc-9def-0123456789ab'));
  });

  it('refuses what is not a grant id', () => {
    expect(() => grantToken('prod-db')).toThrow(/not a grant id/);
  });
});

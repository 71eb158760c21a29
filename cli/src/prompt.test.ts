import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { childEnv } from './exec';
import { promptSegment } from './prompt';

describe('stint prompt', () => {
  it('shows each live grant with minutes left, seconds in the last minute, nothing for ended ones', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stint-prompt-')), 'grants');
    const now = Date.parse('2026-11-24T10:00:00Z');
    writeFileSync(file, `prod-db ${now / 1000 + 12 * 60 + 30}\ndev-ssh ${now / 1000 + 42}\nold ${now / 1000 - 5}\n`);
    expect(promptSegment(file, now)).toBe('prod-db 12m dev-ssh 42s');
    expect(promptSegment(join(tmpdir(), 'missing-file'), now)).toBe('');
  });
});

describe('stint exec environment', () => {
  it('drops stale STINT_* and the grant’s own names from the parent, then adds the grant’s', () => {
    const env = childEnv(
      { PATH: '/usr/bin', PGPASSWORD: 'stale', STINT_EXPIRES_AT: '1', STINT_PROD_DB_EXPIRES_AT: '1', __STINT_VARS: 'PGPASSWORD', HOME: '/root' },
      new Map([['PGPASSWORD', 'fresh'], ['PGUSER', 'stint_alice']]),
    );
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', PGPASSWORD: 'fresh', PGUSER: 'stint_alice' });
  });
});

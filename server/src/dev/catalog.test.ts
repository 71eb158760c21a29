import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { devConfig, withDevCatalog } from './catalog';

const base = devConfig('http://127.0.0.1:1/idp', 'stint-api');
function catalogFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'stint-catalog-')), 'catalog.yaml');
  writeFileSync(file, text);
  return file;
}

describe('dev mode with a catalog of your own (--catalog)', () => {
  it('adds its systems to the demo catalog and replaces a demo system with the same id', () => {
    const file = catalogFile(`systems:
  - id: quick-review
    name: Quick review
    description: pending requests expire fast
    risk: low
    provider: { type: demo, settings: { envVar: QUICK_TOKEN } }
    durations: { presets: [1m], max: 10m }
    requesters: [engineering]
    approvers: [sre-leads]
    approvalsRequired: 1
    pendingTtl: 20s
  - id: staging-db
    name: Staging, my way
    description: replaced
    risk: low
    provider: { type: demo, settings: { envVar: STAGING_DB_TOKEN } }
    durations: { presets: [1m], max: 5m }
    requesters: [engineering]
    approvers: []
    approvalsRequired: 0
`);
    const config = withDevCatalog(base, file);
    expect(config.systems.find((s) => s.id === 'quick-review')?.pendingTtl).toBe(20);
    expect(config.systems.filter((s) => s.id === 'staging-db').map((s) => s.name)).toEqual(['Staging, my way']);
    expect(config.systems.map((s) => s.id)).toEqual(expect.arrayContaining(base.systems.map((s) => s.id)));
    expect(config.issuer).toBe(base.issuer);
  });

  it('names the bad key and its line in the file, and refuses keys other than systems', () => {
    const bad = catalogFile(`systems:\n  - id: x\n    name: X\n    risk: extreme\n`);
    expect(() => withDevCatalog(base, bad)).toThrow(/systems\.0\.risk \(line 4\)/);
    expect(() => withDevCatalog(base, catalogFile('issuer: https://evil.example\nsystems: []\n'))).toThrow(/holds only `systems:`.*remove issuer/);
    expect(() => withDevCatalog(base, '/nonexistent/catalog.yaml')).toThrow(/cannot read the file \(ENOENT\)/);
  });
});

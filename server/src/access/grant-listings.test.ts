import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness';
import { findDevUser } from '../dev/users';
import type { Principal } from '../auth/principal';
import { toGrant } from './context';
import { GrantListings } from './grant-listings';
import { grantListQuery } from './grants';

const principal = (sub: string): Principal => {
  const user = findDevUser(sub)!;
  const isAdmin = user.groups.includes('stint-admins');
  return { sub, login: sub, name: user.name, email: user.email, groups: user.groups, isAdmin, isAuditor: isAdmin || user.groups.includes('auditors') };
};
const mine = { scope: 'mine', limit: 50 } as const;
const names = (json: string) => (JSON.parse(json) as { grants: { grantee: { name: string } }[] }).grants.map((g) => g.grantee.name);

describe('grant listings on SQLite (kept until the database changes)', () => {
  let h: Harness;
  let listings: GrantListings;
  let grantId: string;
  beforeAll(async () => {
    h = await startHarness({ engine: 'sqlite' });
    listings = new GrantListings(h.server.ctx);
    const created = await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 600 });
    grantId = created.body.grant.id;
  });
  afterAll(async () => h?.close());

  it('reads through a second connection, so the listing is the same as a fresh query', async () => {
    expect(h.server.store.snapshot).toBeDefined();
    const fresh = (await grantListQuery(h.server.store.db, principal('alice'), mine).execute()).map(toGrant);
    const listed = await listings.json(principal('alice'), mine);
    expect(JSON.parse(listed)).toEqual({ grants: fresh });
    expect(fresh.map((g) => g.id)).toContain(grantId);
  });

  it('shows a release on the very next read, through the API', async () => {
    const before = await h.api('alice', 'GET', '/v1/grants?scope=mine');
    expect(before.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(before.body.grants.find((g: { id: string }) => g.id === grantId).state).toBe('active');
    await h.api('alice', 'GET', '/v1/grants?scope=mine'); // now certainly kept
    expect((await h.api('alice', 'POST', `/v1/grants/${grantId}/release`)).status).toBe(200);
    const after = await h.api('alice', 'GET', '/v1/grants?scope=mine');
    expect(after.body.grants.find((g: { id: string }) => g.id === grantId)).toMatchObject({ state: 'ended', endReason: 'released' });
  });

  it('never serves what an open transaction wrote, and serves it as soon as it commits', async () => {
    const alice = principal('alice');
    await listings.json(alice, mine);
    let during = '';
    await h.server.store.db.transaction().execute(async (trx) => {
      await trx.updateTable('grants').set({ grantee_name: 'Uncommitted Alice' }).where('id', '=', grantId).execute();
      during = await listings.json(alice, mine); // read (and kept) between the write and its commit
    });
    expect(names(during)).not.toContain('Uncommitted Alice');
    expect(names(await listings.json(alice, mine))).toContain('Uncommitted Alice');
  });

  it('sees a commit by another process on the file within a second', async () => {
    const alice = principal('alice');
    await listings.json(alice, mine);
    const other = new SQLite(h.database);
    try {
      other.prepare('update grants set grantee_name = ? where id = ?').run('Renamed Elsewhere', grantId);
    } finally {
      other.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(names(await listings.json(alice, mine))).toContain('Renamed Elsewhere');
  });

  it('keeps each person to their own listing, and every grant to admins and auditors', async () => {
    await h.api('bob', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 600 });
    const everyone = await h.api('dana', 'GET', '/v1/grants?scope=all'); // kept for scope=all
    expect(new Set(everyone.body.grants.map((g: { grantee: { sub: string } }) => g.grantee.sub))).toEqual(new Set(['alice', 'bob']));
    await h.api('alice', 'GET', '/v1/grants?scope=mine');
    const bobs = await h.api('bob', 'GET', '/v1/grants?scope=mine');
    expect(bobs.body.grants.length).toBeGreaterThan(0);
    expect(bobs.body.grants.every((g: { grantee: { sub: string } }) => g.grantee.sub === 'bob')).toBe(true);
    const refused = await h.api('carol', 'GET', '/v1/grants?scope=all');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe('not_an_auditor');
    await expect(listings.json(principal('carol'), { scope: 'all', limit: 50 })).rejects.toThrow(/Only admins and auditors/);
  });

  it('holds a bounded number of listings', async () => {
    const small = new GrantListings(h.server.ctx, 2);
    const a = await small.json(principal('alice'), mine);
    await small.json(principal('bob'), mine);
    await small.json(principal('dana'), { scope: 'all', limit: 50 });
    expect(await small.json(principal('alice'), mine)).toBe(a); // read again after eviction, same answer
    expect((small as unknown as { kept: Map<string, string> }).kept.size).toBeLessThanOrEqual(2);
  });
});

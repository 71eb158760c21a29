import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { verifyAudit } from '../src/audit/chain';
import { ENGINES, startHarness } from './harness';

describe.each(ENGINES)('audit chain on %s', (engine) => {
  it('is append-only, and verify names the first altered row', async () => {
    const h = await startHarness({ engine });
    try {
      // Three people, since one person has one live grant per system.
      for (let i = 0; i < 3; i++) await h.api(await h.person(`engineer-${i}`), 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
      const { db } = h.server.store;
      expect(await verifyAudit(db)).toEqual({ ok: true, rows: expect.any(Number) });
      // The application's own path cannot rewrite history.
      await expect(db.updateTable('audit').set({ actor: 'mallory' }).where('seq', '=', 2).execute()).rejects.toThrow(/append-only/);

      // An attacker with table-owner rights turns the guard off and edits row 4.
      if (engine === 'postgres') await sql`alter table audit disable trigger user`.execute(db);
      else await sql`drop trigger audit_no_update`.execute(db);
      await db.updateTable('audit').set({ detail: '{"systemId":"demo-sandbox","durationSeconds":60}' }).where('seq', '=', 4).execute();
      expect(await verifyAudit(db)).toMatchObject({ ok: false, seq: 4, problem: 'row 4 was altered (its contents do not match its hash)' });

      if (engine === 'sqlite') {
        await h.server.close();
        const cli = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts', 'audit', 'verify', '--database', h.database], { encoding: 'utf8' });
        expect(cli.status).toBe(1);
        expect(cli.stderr).toMatch(/audit chain BROKEN at row 4: row 4 was altered/);
        await h.restart();
      }
    } finally {
      await h.close();
    }
  });

  it('exports every entry as JSON lines and CSV, to auditors only', async () => {
    const h = await startHarness({ engine });
    try {
      await h.api('alice', 'POST', '/v1/requests', { systemId: 'demo-sandbox', durationSeconds: 300 });
      const jsonl = await h.api('dana', 'GET', '/v1/audit/export?format=jsonl');
      const lines = (jsonl.body as string).trim().split('\n').map((l) => JSON.parse(l));
      const all = await h.api('dana', 'GET', '/v1/audit?limit=1000');
      expect(lines).toEqual(all.body.entries);
      const csv = await h.api('dana', 'GET', '/v1/audit/export?format=csv');
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      const rows = (csv.body as string).trim().split('\n');
      expect(rows[0]).toBe('seq,at,actor,action,targetType,targetId,detail,prevHash,hash');
      expect(rows).toHaveLength(lines.length + 1);
      expect((await h.api('alice', 'GET', '/v1/audit/export?format=csv')).status).toBe(403);
    } finally {
      await h.close();
    }
  });
});

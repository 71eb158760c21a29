import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InsightsResponse } from '@stint/contract';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { computeInsights } from '../src/insights';
import { pdfPageCount, renderCsv, renderHtml, renderPdf, runReport } from '../src/insights/report';
import { seedInput, seedStore, SYSTEMS } from '../src/insights/seed.fixture';
import { main } from '../src/main';
import { sql } from 'kysely';
import { openStore } from '../src/store/database';

/** `stint-server ARGS` from the TypeScript source; its exit code, standard output and error. */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const csvRows = (csv: string) => csv.trim().split('\n');

describe('stint-server report', () => {
  let dir: string;
  let database: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stint-report-'));
    database = join(dir, 'stint.sqlite');
    const store = await openStore(database);
    await seedStore(store);
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the figures as one long CSV table, with progress on standard error', async () => {
    const run = await cli(['report', '--database', database, '--since', '2026-11-02', '--until', '2026-11-05', '--format', 'csv']);
    expect(run.stderr).toMatch(/stint-server report: audit chain intact: 159 rows/);
    expect(run.stderr).toMatch(/stint-server report: read 158 audit rows in/);
    expect(run.status).toBe(0);
    const rows = csvRows(run.stdout);
    expect(rows[0]).toBe('figure,system,subject,measure,value,evidence_count,evidence_seqs');
    expect(rows).toContain('period,,,from,2026-11-02T00:00:00.000Z,,');
    expect(rows.find((r) => r.startsWith('daily,prod-db,2026-11-02,requests,'))).toMatch(/^daily,prod-db,2026-11-02,requests,4,4,\d+ \d+ \d+ \d+$/);
    expect(rows.find((r) => r.startsWith('outcomes,staging,,expired_unreviewed'))).toMatch(/^outcomes,staging,,expired_unreviewed,1,1,\d+$/);
    expect(rows.find((r) => r.startsWith('approval_latency,prod-db,,median_seconds'))).toMatch(/^approval_latency,prod-db,,median_seconds,15,18,/);
    expect(rows.find((r) => r.startsWith('approval_latency_by_group,,sre,p90_seconds'))).toMatch(/,600,2,/);
    expect(rows.find((r) => r.startsWith('break_glass,staging,ann,'))).toMatch(/^break_glass,staging,ann,request B1: outage INC-7,1800,1,\d+$/);
    // Followed to now: P12's deadline passed after the period, so it ran to its deadline.
    expect(rows).toContain('grant_use,prod-db,,still_active,0,0,');
    expect(rows.find((r) => r.startsWith('top_requesters,prod-db,ann,requests'))).toMatch(/^top_requesters,prod-db,ann,requests,7,7,/);
    // Without --config the systems' limits are unknown: no "too short", the rest as before.
    expect(rows.filter((r) => r.startsWith('suggestion,') && !r.split(',')[3]!.includes('.')).map((r) => r.split(',')[3])).toEqual(['auto_approve_candidate', 'max_duration_too_long', 'idle_approver', 'idle_approver']);
    expect(rows).toContain('suggestion,prod-db,dba,auto_approve_candidate.approved,18,,');
  }, 60_000);

  /** The command in this process (the CSV test above ran it as a process). */
  async function inProcess(args: string[]) {
    const errors: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    try {
      return { status: await main(args), stderr: errors.join('\n') };
    } finally {
      spy.mockRestore();
    }
  }

  it('refuses bad usage with exit code 2 and a message', async () => {
    const runs = [
      await inProcess(['report', '--database', database, '--format', 'docx']),
      await inProcess(['report', '--database', database, '--since', 'yesterday']),
      await inProcess(['report', '--database', database, '--format', 'pdf']),
      await inProcess(['report', '--database', database, '--system', 'Not_A_System']),
    ];
    expect(runs.map((r) => r.status)).toEqual([2, 2, 2, 2]);
    expect(runs[0]!.stderr).toMatch(/--format is html, pdf or csv/);
    expect(runs[1]!.stderr).toMatch(/from "yesterday" is not a date/);
    expect(runs[2]!.stderr).toMatch(/--format pdf needs --out FILE/);
    expect(runs[3]!.stderr).toMatch(/--system: a system id is lowercase letters/);
  });

  it('exits 1 when the audit chain does not verify (a scheduled run fails loudly), and still writes the report saying so', async () => {
    const altered = mkdtempSync(join(tmpdir(), 'stint-report-altered-'));
    try {
      const file = join(altered, 'stint.sqlite');
      const store = await openStore(file);
      await seedStore(store);
      // Someone with the file's rights turns the guard off and edits a row.
      await sql`drop trigger audit_no_update`.execute(store.db);
      await store.db.updateTable('audit').set({ actor: 'mallory' }).where('seq', '=', 5).execute();
      await store.close();
      const out = join(altered, 'report.html');
      const run = await inProcess(['report', '--database', file, '--since', '2026-11-02', '--until', '2026-11-05', '--out', out]);
      expect(run.stderr).toMatch(/audit chain BROKEN at row 5/);
      expect(run.status).toBe(1);
      expect(readFileSync(out, 'utf8')).toMatch(/BROKEN|does not verify|altered/i);
    } finally {
      rmSync(altered, { recursive: true, force: true });
    }
  });

  it('prints a PDF with Chromium, the figures on pages after the summary', async () => {
    const out = join(dir, 'report.pdf');
    const run = await inProcess(['report', '--database', database, '--since', '3d', '--until', '2026-11-05T00:00:00Z', '--format', 'pdf', '--out', out, '--skip-verify']);
    expect(run.stderr).toMatch(/printing the PDF with Chromium/);
    expect(run.status).toBe(0);
    const pdf = readFileSync(out);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = pdfPageCount(pdf);
    // The page tree says the same as the page objects counted.
    expect(pdf.toString('latin1')).toContain(`/Count ${pages}`);
    expect(pages).toBeGreaterThanOrEqual(3);

    // An empty period: the summary page, and the figures' page.
    const empty = await renderPdf(renderHtml(computeInsights(seedInput({ rows: [] }))));
    expect(pdfPageCount(empty)).toBe(2);
  }, 60_000);
});

describe('report rendering', () => {
  const insights = computeInsights(seedInput());

  it('makes a self-contained HTML page with charts and every figure', () => {
    const html = renderHtml(insights, { ok: true, rows: 159 });
    expect(html).toMatch(/^<!doctype html>/);
    // Nothing fetched from anywhere: no src, href, url() or import; the SVG namespace is only a name.
    expect(html).not.toMatch(/\s(src|href)=|url\(|@import|<script|<link/i);
    expect(html.match(/https?:\/\/[^"]*/g)).toEqual(['http://www.w3.org/2000/svg', 'http://www.w3.org/2000/svg', 'http://www.w3.org/2000/svg']);
    expect(html).toContain("default-src 'none'");
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('Audit chain: intact (159 rows verified)');
    for (const s of insights.suggestions) expect(html).toContain(s.sentence.replaceAll("'", '&#39;'));
    expect(html).toContain('<td>prod-db</td><td class="n" title="audit rows');
  });

  it('escapes what people wrote', () => {
    const hostile: InsightsResponse = {
      ...insights,
      breakGlass: { ...insights.breakGlass, uses: [{ ...insights.breakGlass.uses[0]!, reason: '<img src=x onerror=alert(1)>', requester: '"><script>x</script>' }] },
    };
    const html = renderHtml(hostile);
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const csv = renderCsv({ ...hostile, breakGlass: { ...hostile.breakGlass, uses: [{ ...hostile.breakGlass.uses[0]!, requester: '=HYPERLINK("x")' }] } });
    // A spreadsheet must not run it (CSV injection).
    expect(csv).toContain(`,"'=HYPERLINK(""x"")",`);
    expect(csv).not.toMatch(/,"?=HYPERLINK/);
  });

  it('renders the same figures in-process as the command does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stint-report-inproc-'));
    try {
      const store = await openStore(join(dir, 'stint.sqlite'));
      await seedStore(store);
      await store.close();
      const said: string[] = [];
      let written = '';
      const result = await runReport({
        database: join(dir, 'stint.sqlite'),
        systems: SYSTEMS,
        since: '2026-11-02',
        until: '2026-11-05',
        system: null,
        group: null,
        format: 'csv',
        out: null,
        verify: true,
        now: () => Date.parse('2026-11-05T00:00:30Z'),
        say: (line) => said.push(line),
        write: (data) => (written += data.toString()),
      });
      const expected = computeInsights(seedInput());
      expect(result).toEqual({ ...expected, period: { ...expected.period, auditRows: result.period.auditRows } });
      expect(written).toBe(renderCsv(result));
      expect(said[0]).toMatch(/^verifying the audit chain/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

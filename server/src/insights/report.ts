// `stint-server report`: the insights of a period as CSV (one long table), a self-contained HTML
// page (inline CSS and SVG, nothing fetched), or that page printed to PDF by Chromium.
import { formatDuration, type InsightEvidence, type InsightsResponse } from '@stint/contract';
import { csvCell, verifyAudit, type VerifyResult } from '../audit/chain';
import { openStore } from '../store/database';
import type * as PlaywrightCore from 'playwright-core';
import type { SystemFacts } from './compute';
import { buildInsights, resolvePeriod } from './index';

export type ReportFormat = 'html' | 'pdf' | 'csv';

/** What the report says of the chain it read, when it was verified first. */
export type ChainCheck = VerifyResult | null;

// ---------------------------------------------------------------------------------------------
// CSV: figure, system, subject, measure, value, evidence_count, evidence_seqs

const CSV_HEADER = ['figure', 'system', 'subject', 'measure', 'value', 'evidence_count', 'evidence_seqs'];

export function renderCsv(insights: InsightsResponse): string {
  const lines: string[] = [CSV_HEADER.join(',')];
  const row = (figure: string, system: string | null, subject: string | null, measure: string, value: string | number | null, ev?: InsightEvidence) =>
    lines.push([figure, system ?? '', subject ?? '', measure, value ?? '', ev?.count ?? '', ev ? ev.seqs.join(' ') : ''].map((cell) => csvCell(String(cell))).join(','));
  const p = insights.period;
  row('period', p.system, p.group, 'from', p.from);
  row('period', p.system, p.group, 'to', p.to);
  row('period', p.system, p.group, 'followed_until', p.followedUntil);
  row('period', p.system, p.group, 'generated_at', p.generatedAt);
  for (const s of insights.series) {
    for (const d of s.days) {
      row('daily', s.systemId, d.day, 'requests', d.requests.count, d.requests);
      row('daily', s.systemId, d.day, 'extensions', d.extensions.count, d.extensions);
      row('daily', s.systemId, d.day, 'grants', d.grants.count, d.grants);
    }
  }
  for (const o of insights.outcomes) {
    for (const [measure, ev] of [
      ['requests', o.requests],
      ['approved', o.approved],
      ['approved_without_review', o.approvedWithoutReview],
      ['denied', o.denied],
      ['expired_unreviewed', o.expiredUnreviewed],
      ['cancelled', o.cancelled],
      ['pending', o.pending],
    ] as const) {
      row('outcomes', o.systemId, null, measure, ev.count, ev);
    }
  }
  const latency = (figure: string, system: string | null, subject: string | null, l: InsightsResponse['latency']['bySystem'][number]['latency']) => {
    row(figure, system, subject, 'approvals', l.count, l.evidence);
    row(figure, system, subject, 'median_seconds', l.medianSeconds, l.evidence);
    row(figure, system, subject, 'p90_seconds', l.p90Seconds, l.evidence);
    row(figure, system, subject, 'max_seconds', l.maxSeconds, l.evidence);
  };
  for (const s of insights.latency.bySystem) latency('approval_latency', s.systemId, null, s.latency);
  for (const g of insights.latency.byApproverGroup) latency('approval_latency_by_group', null, g.group, g.latency);
  row('break_glass', null, null, 'uses', insights.breakGlass.evidence.count, insights.breakGlass.evidence);
  for (const use of insights.breakGlass.uses) row('break_glass', use.systemId, use.requester, `request ${use.requestId}: ${use.reason ?? ''}`, use.durationSeconds, { count: 1, seqs: [use.seq] });
  for (const g of insights.grantUse) {
    row('grant_use', g.systemId, null, 'grants', g.grants.count, g.grants);
    row('grant_use', g.systemId, null, 'released_early', g.releasedEarly.count, g.releasedEarly);
    row('grant_use', g.systemId, null, 'revoked', g.revoked.count, g.revoked);
    row('grant_use', g.systemId, null, 'ran_to_deadline', g.ranToDeadline.count, g.ranToDeadline);
    row('grant_use', g.systemId, null, 'still_active', g.stillActive.count, g.stillActive);
    row('grant_use', g.systemId, null, 'granted_seconds', g.grantedSeconds);
    row('grant_use', g.systemId, null, 'used_seconds', g.usedSeconds);
    row('grant_use', g.systemId, null, 'used_share', g.usedShare);
    row('grant_use', g.systemId, null, 'median_used_share', g.medianUsedShare);
  }
  for (const t of insights.topRequesters) {
    for (const r of t.requesters) {
      row('top_requesters', t.systemId, r.person, 'requests', r.requests.count, r.requests);
      row('top_requesters', t.systemId, r.person, 'granted', r.granted);
    }
  }
  for (const s of insights.suggestions) {
    const subject = [s.group, s.person].filter(Boolean).join(' ') || null;
    row('suggestion', s.systemId, subject, s.kind, s.sentence, s.evidence);
    for (const [name, value] of Object.entries(s.numbers)) row('suggestion', s.systemId, subject, `${s.kind}.${name}`, value);
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// HTML

/** Text into HTML: everything in a report came from the audit log, i.e. from people. */
const esc = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const rowsNote = (ev: InsightEvidence) =>
  ev.count === 0 ? '' : `audit rows ${ev.seqs.join(', ')}${ev.count > ev.seqs.length ? ` and ${ev.count - ev.seqs.length} more` : ''}`;
/** A count whose audit rows show on hover (and are listed in the CSV). */
const cell = (ev: InsightEvidence) => `<td class="n" title="${esc(rowsNote(ev))}">${ev.count}</td>`;
const seconds = (s: number | null) => (s === null ? '–' : formatDuration(s));
const share = (s: number | null) => (s === null ? '–' : `${Math.round(s * 100)}%`);

const CSS = `
body{font:13px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2433;margin:24px;max-width:1000px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d5dae3;padding-bottom:4px}
h3{font-size:13px;margin:14px 0 4px}.meta{color:#5a6375;margin:0 0 16px}
table{border-collapse:collapse;margin:4px 0 12px;width:100%}th,td{border-bottom:1px solid #e6e9ef;padding:3px 8px;text-align:left;vertical-align:top}
th{font-weight:600;background:#f4f6f9}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.suggestion{border-left:4px solid #d08a00;background:#fff8e8;padding:8px 12px;margin:8px 0;break-inside:avoid}
.suggestion .kind{font-weight:600;text-transform:uppercase;font-size:11px;letter-spacing:.04em;color:#8a5a00}
.rows{color:#5a6375;font-size:11px;word-break:break-all}.empty{color:#5a6375;font-style:italic}
.chart{break-inside:avoid;margin:6px 0 14px}.legend span{display:inline-block;margin-right:14px;font-size:11px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
.figures{break-before:page}
@media print{body{margin:0}h2{break-after:avoid}}
`;

const REQUESTS = '#3b6fd8';
const EXTENSIONS = '#9bb7ee';
const GRANTS = '#2f9e6e';

/** Grouped bars per day (requests, extensions, grants), drawn here: no chart library, no fetch. */
export function dayChart(series: InsightsResponse['series'][number]): string {
  const days = series.days;
  const max = Math.max(1, ...days.flatMap((d) => [d.requests.count, d.extensions.count, d.grants.count]));
  const height = 120;
  const top = 10;
  const left = 28;
  const slot = Math.max(12, Math.min(48, Math.floor(900 / Math.max(1, days.length))));
  const bar = Math.max(3, Math.floor((slot - 4) / 3));
  const width = left + slot * days.length + 4;
  const y = (n: number) => top + height - (n / max) * height;
  const parts: string[] = [];
  for (const tick of [0, Math.ceil(max / 2), max]) {
    parts.push(`<line x1="${left}" x2="${width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#e6e9ef"/><text x="${left - 4}" y="${y(tick) + 3}" font-size="9" text-anchor="end" fill="#5a6375">${tick}</text>`);
  }
  const labelEvery = Math.ceil(days.length / 12);
  days.forEach((d, i) => {
    const x0 = left + i * slot + 2;
    [
      [d.requests, REQUESTS, 'requests'],
      [d.extensions, EXTENSIONS, 'extensions'],
      [d.grants, GRANTS, 'grants'],
    ].forEach(([ev, color, name], j) => {
      const n = (ev as InsightEvidence).count;
      if (n === 0) return;
      parts.push(`<rect x="${x0 + j * bar}" y="${y(n)}" width="${bar - 1}" height="${top + height - y(n)}" fill="${color as string}"><title>${esc(`${d.day}: ${n} ${name as string}`)}</title></rect>`);
    });
    if (i % labelEvery === 0) parts.push(`<text x="${x0}" y="${top + height + 12}" font-size="9" fill="#5a6375">${esc(d.day.slice(5))}</text>`);
  });
  return `<svg class="chart" role="img" aria-label="${esc(`requests and grants per day for ${series.systemId}`)}" width="${width}" height="${top + height + 18}" viewBox="0 0 ${width} ${top + height + 18}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`;
}

export function renderHtml(insights: InsightsResponse, chain: ChainCheck = null): string {
  const p = insights.period;
  const filters = [p.system ? `system ${p.system}` : null, p.group ? `group ${p.group}` : null].filter(Boolean).join(', ');
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">`);
  // Nothing may load from elsewhere: the page is read offline, and printed without a network.
  out.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
  out.push(`<title>Stint access report ${esc(p.from.slice(0, 10))} – ${esc(p.to.slice(0, 10))}</title><style>${CSS}</style></head><body>`);
  out.push(`<h1>Stint access report</h1>`);
  out.push(
    `<p class="meta">${esc(p.from)} to ${esc(p.to)} (end excluded)${filters ? `, ${esc(filters)}` : ''}. Outcomes followed until ${esc(p.followedUntil)}; made ${esc(p.generatedAt)} from audit rows ${p.auditRows.firstSeq ?? '–'}–${p.auditRows.lastSeq ?? '–'} (${p.auditRows.read} read).${
      chain ? ` Audit chain: ${chain.ok ? `intact (${chain.rows} rows verified)` : `BROKEN at row ${chain.seq}: ${esc(chain.problem)}`}.` : ''
    } Numbers in tables hover to show the audit rows behind them.</p>`,
  );

  out.push(`<h2>Policy suggestions</h2>`);
  if (insights.suggestions.length === 0) out.push(`<p class="empty">None for this period.</p>`);
  for (const s of insights.suggestions) {
    out.push(
      `<div class="suggestion"><div class="kind">${esc(s.kind.replaceAll('_', ' '))}${s.systemId ? ` · ${esc(s.systemId)}` : ''}</div><div>${esc(s.sentence)}</div><div class="rows">${esc(rowsNote(s.evidence))}</div></div>`,
    );
  }

  out.push(`<h2>Requests by outcome</h2>`);
  out.push(table(['System', 'Requests', 'Approved (review)', 'Approved (policy)', 'Denied', 'Expired unreviewed', 'Cancelled', 'Pending'], insights.outcomes.map((o) =>
    `<td>${esc(o.systemId)}</td>${[o.requests, o.approved, o.approvedWithoutReview, o.denied, o.expiredUnreviewed, o.cancelled, o.pending].map(cell).join('')}`)));

  out.push(`<h2>Approval latency</h2><p class="meta">From request to approval by review; nearest-rank percentiles.</p>`);
  const latencyRow = (name: string, l: InsightsResponse['latency']['bySystem'][number]['latency']) =>
    `<td>${esc(name)}</td>${cell(l.evidence)}<td class="n">${seconds(l.medianSeconds)}</td><td class="n">${seconds(l.p90Seconds)}</td><td class="n">${seconds(l.maxSeconds)}</td>`;
  out.push(`<h3>By system</h3>`, table(['System', 'Approvals', 'Median', 'p90', 'Slowest'], insights.latency.bySystem.map((s) => latencyRow(s.systemId, s.latency))));
  out.push(`<h3>By approver group</h3>`, table(['Group', 'Approvals', 'Median', 'p90', 'Slowest'], insights.latency.byApproverGroup.map((g) => latencyRow(g.group, g.latency))));

  out.push(`<h2>Break-glass uses</h2>`);
  out.push(
    `<p class="meta">${insights.breakGlass.evidence.count} in the period${insights.breakGlass.uses.length < insights.breakGlass.evidence.count ? `, the first ${insights.breakGlass.uses.length} listed` : ''}.</p>`,
    table(['Audit row', 'When', 'System', 'Requester', 'Duration', 'Reason'], insights.breakGlass.uses.map((u) =>
      `<td class="n">${u.seq}</td><td>${esc(u.at)}</td><td>${esc(u.systemId)}</td><td>${esc(u.requester)}</td><td class="n">${seconds(u.durationSeconds)}</td><td>${esc(u.reason ?? '')}</td>`)),
  );

  out.push(`<h2>How grants ended</h2><p class="meta">Grants that became active in the period. Time used is over the grants that ended, to their last deadline.</p>`);
  out.push(table(['System', 'Grants', 'Released early', 'Revoked', 'Ran to deadline', 'Still active', 'Time used', 'Median use'], insights.grantUse.map((g) =>
    `<td>${esc(g.systemId)}</td>${[g.grants, g.releasedEarly, g.revoked, g.ranToDeadline, g.stillActive].map(cell).join('')}<td class="n" title="${esc(`${formatDuration(g.usedSeconds)} of ${formatDuration(g.grantedSeconds)}`)}">${share(g.usedShare)}</td><td class="n">${share(g.medianUsedShare)}</td>`)));

  out.push(`<h2>Top requesters</h2>`);
  out.push(table(['System', 'Person', 'Requests', 'Approved'], insights.topRequesters.flatMap((t) => t.requesters.map((r) =>
    `<td>${esc(t.systemId)}</td><td>${esc(r.person)}</td>${cell(r.requests)}<td class="n">${r.granted}</td>`))));

  out.push(`<section class="figures"><h2>Requests and grants per day</h2><p class="meta legend"><span><i class="sw" style="background:${REQUESTS}"></i>requests</span><span><i class="sw" style="background:${EXTENSIONS}"></i>extensions</span><span><i class="sw" style="background:${GRANTS}"></i>grants</span> (UTC days)</p>`);
  if (insights.series.length === 0) out.push(`<p class="empty">No requests in this period.</p>`);
  for (const s of insights.series) {
    out.push(`<h3>${esc(s.systemId)}</h3>`, dayChart(s));
    out.push(table(['Day', 'Requests', 'Extensions', 'Grants'], s.days.filter((d) => d.requests.count + d.extensions.count + d.grants.count > 0).map((d) =>
      `<td>${esc(d.day)}</td>${cell(d.requests)}${cell(d.extensions)}${cell(d.grants)}`)));
  }
  out.push(`</section></body></html>\n`);
  return out.join('\n');
}

function table(headers: readonly string[], rows: readonly string[]): string {
  if (rows.length === 0) return `<p class="empty">Nothing in this period.</p>`;
  const head = headers.map((h, i) => `<th${i > 0 && !['Person', 'When', 'System', 'Requester', 'Reason'].includes(h) ? ' class="n"' : ''}>${esc(h)}</th>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table>`;
}

// ---------------------------------------------------------------------------------------------
// PDF

type Playwright = typeof PlaywrightCore;

/** MACHINE.md's flags for Debian's Chromium; the binary is STINT_CHROMIUM or /usr/bin/chromium. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Prints the HTML page to an A4 PDF with Chromium (through playwright-core, loaded only here). */
export async function renderPdf(html: string, executablePath = process.env.STINT_CHROMIUM ?? '/usr/bin/chromium'): Promise<Buffer> {
  // Loaded by name at run time: the PDF is optional, and the server bundle must not carry it.
  const name = 'playwright-core';
  let playwright: Playwright;
  try {
    playwright = (await import(name)) as Playwright;
  } catch {
    throw new Error('PDF reports need the playwright-core package (npm install playwright-core) and Chromium; use --format html and print it instead.');
  }
  const browser = await playwright.chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    const page = await context.newPage();
    // The page is self-contained; anything it tried to fetch would be refused here as well.
    await page.route('**/*', (route) => route.abort());
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '14mm', bottom: '14mm', left: '12mm', right: '12mm' } });
  } finally {
    await browser.close();
  }
}

/** The number of pages of a PDF (its page objects), without a PDF library. */
export function pdfPageCount(pdf: Buffer): number {
  return (pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g) ?? []).length;
}

// ---------------------------------------------------------------------------------------------
// The command

export interface ReportOptions {
  /** SQLite path or postgres:// URL. */
  database: string;
  /** The configuration's systems (maximum durations, approver groups); null: the audit log alone. */
  systems: readonly SystemFacts[];
  /** `--since`: a duration back from `until` ("7d") or a date/time; `--until`: a date/time, default now. */
  since: string;
  until?: string | undefined;
  system: string | null;
  group: string | null;
  format: ReportFormat;
  /** Where the report goes; null: standard output (not for PDF). */
  out: string | null;
  verify: boolean;
  now?: () => number;
  /** Progress lines (standard error). */
  say: (line: string) => void;
  write: (data: string | Buffer) => void;
  /** What the chain check found (verify only): the report is written either way, and says it. */
  onChain?: (intact: boolean) => void;
}

/** Reads the store, computes the figures and writes the report; throws PeriodError for a bad period. */
export async function runReport(options: ReportOptions): Promise<InsightsResponse> {
  const now = (options.now ?? Date.now)();
  const period = resolvePeriod({ from: options.since, to: options.until }, now);
  const store = await openStore(options.database);
  try {
    let chain: ChainCheck = null;
    if (options.verify) {
      options.say(`verifying the audit chain (${store.description})...`);
      chain = await verifyAudit(store.reader);
      options.say(chain.ok ? `audit chain intact: ${chain.rows} rows` : `audit chain BROKEN at row ${chain.seq}: ${chain.problem}`);
      options.onChain?.(chain.ok);
    }
    let said = 0;
    const started = performance.now();
    const insights = await buildInsights(store.reader, {
      ...period,
      system: options.system,
      group: options.group,
      now,
      systems: options.systems,
      onProgress: ({ read, seq, headSeq }) => {
        if (performance.now() - said < 1000) return;
        said = performance.now();
        options.say(`reading audit rows: ${read} read, at row ${seq} of ${headSeq}`);
      },
    });
    options.say(`read ${insights.period.auditRows.read} audit rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (options.format === 'csv') options.write(renderCsv(insights));
    else {
      const html = renderHtml(insights, chain);
      if (options.format === 'html') options.write(html);
      else {
        options.say('printing the PDF with Chromium...');
        options.write(await renderPdf(html));
      }
    }
    return insights;
  } finally {
    await store.close();
  }
}

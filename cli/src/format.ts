import type { AccessRequest, LocalGrant, SystemView } from '@stint/contract';
import { formatDuration, shortId, visibleText } from '@stint/contract/plain';

export const left = (expiresAt: string, now = Date.now()) => formatDuration(Math.max(0, Math.round((Date.parse(expiresAt) - now) / 1000)));

/**
 * Plain aligned columns: readable in a terminal, greppable in a script. Every cell is shown
 * with its control and bidi characters as visible escapes, newlines included, so text someone
 * else wrote (a reason, a name) can neither move the cursor nor forge a row.
 */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((row) => row.map((cell) => visibleText(cell)));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function policyText(system: SystemView): string {
  const p = system.policy;
  const parts: string[] = [];
  if (p.autoApproveUpToSeconds) parts.push(`auto-approved up to ${formatDuration(p.autoApproveUpToSeconds)}`);
  if (p.approvalsRequired > 0) parts.push(`needs ${p.approvalsRequired} approval${p.approvalsRequired > 1 ? 's' : ''} from ${p.approverGroups.join(' or ')}`);
  if (p.breakGlassAllowed) parts.push('break-glass allowed');
  if (p.justification === 'required') parts.push('reason required');
  if (p.ticketPattern) parts.push(`ticket ${p.ticketPattern}`);
  return parts.join('; ');
}

export const systemsTable = (systems: readonly SystemView[]) =>
  table(
    ['SYSTEM', 'RISK', 'DURATIONS', 'MAX', 'POLICY'],
    systems.map((s) => [s.id, s.risk, s.durationPresetsSeconds.map(formatDuration).join(','), formatDuration(s.maxDurationSeconds), [...(s.bundle?.length ? [`bundle of ${s.bundle.map((m) => m.id).join(' + ')}`] : []), policyText(s)].filter(Boolean).join('; ')]),
  );

export const requestsTable = (requests: readonly AccessRequest[]) =>
  table(
    ['ID', 'SYSTEM', 'STATE', 'FOR', 'BY', 'REASON'],
    requests.map((r) => [shortId(r.id), r.systemId, r.state, formatDuration(r.durationSeconds), r.requester.name ?? r.requester.sub, r.reason]),
  );

export const grantsTable = (grants: readonly LocalGrant[]) =>
  table(
    ['GRANT', 'SYSTEM', 'LEFT', 'EXPIRES', 'VARIABLES'],
    grants.map((g) => [shortId(g.grantId), g.systemId, left(g.expiresAt), g.expiresAt, g.envNames.join(' ')]),
  );

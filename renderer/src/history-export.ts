import type { AccessRequest } from '@stint/contract';

/** Who decided a request, in words: the approvers, the denier, or the policy that needed nobody. */
export function decidedBy(request: AccessRequest): string {
  const name = (r: AccessRequest['reviews'][number]) => r.reviewer.name ?? r.reviewer.email ?? r.reviewer.sub;
  const denial = request.reviews.find((r) => r.decision === 'deny');
  if (denial) return `denied by ${name(denial)}`;
  const approvals = request.reviews.filter((r) => r.decision === 'approve').map(name);
  if (approvals.length > 0) return approvals.join(', ');
  if (request.breakGlass) return 'break-glass (reviewed afterwards)';
  // Granted with nobody's review: the policy approved it (a grant outlives its request's "active").
  const granted = request.grantId !== null || request.state === 'approved' || request.state === 'active';
  if (granted) return request.approvalsRequired === 0 ? 'policy (no review needed)' : 'policy (auto-approved)';
  return '';
}

const HEADERS = ['requested_at', 'system_id', 'system', 'duration_seconds', 'asked_seconds', 'state', 'decided_by', 'reason', 'ticket', 'request_id'];

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is
 * prefixed with an apostrophe: a reason typed by anyone must not become a formula in an
 * auditor's spreadsheet.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The person's history as CSV (RFC 4180, CRLF line ends), names beside ids. */
export function historyCsv(items: readonly AccessRequest[], nameOf: (systemId: string) => string): string {
  const rows = items.map((r) =>
    [r.createdAt, r.systemId, nameOf(r.systemId), String(r.durationSeconds), r.askedSeconds ? String(r.askedSeconds) : '', r.state, decidedBy(r), r.reason, r.ticket ?? '', r.id].map(csvCell).join(','),
  );
  return [HEADERS.join(','), ...rows].join('\r\n') + '\r\n';
}

import { formatDuration, type AccessRequest, type HistoryEntry } from '@stint/contract';

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

/**
 * How much of an ended grant was used: from its start to its release or revocation (to the
 * deadline when it ran out), of the time from its start to its last deadline (extensions
 * included). The same measure as the insights' `grantUse` (server/src/insights/compute.ts). Given
 * on the request that opened the grant; null for an extension, a grant still live, and one that
 * never ran (failed, or not started in its window).
 */
export function timeUsed(entry: Pick<HistoryEntry, 'extendsGrantId' | 'grant'>): { usedSeconds: number; grantedSeconds: number } | null {
  const grant = entry.grant;
  if (entry.extendsGrantId !== null || !grant || grant.endedAt === null) return null;
  if (grant.endReason !== 'expired' && grant.endReason !== 'released' && grant.endReason !== 'revoked') return null;
  const start = Date.parse(grant.startsAt);
  const deadline = Date.parse(grant.expiresAt);
  const granted = Math.max(0, deadline - start);
  const end = grant.endReason === 'expired' ? deadline : Date.parse(grant.endedAt);
  const used = Math.min(granted, Math.max(0, end - start));
  return { usedSeconds: Math.round(used / 1000), grantedSeconds: Math.round(granted / 1000) };
}

/** "12m of 1h (20%)"; empty when there is nothing to say. */
export function timeUsedText(entry: Pick<HistoryEntry, 'extendsGrantId' | 'grant'>): string {
  const time = timeUsed(entry);
  if (!time) return '';
  const share = time.grantedSeconds > 0 ? Math.round((100 * time.usedSeconds) / time.grantedSeconds) : 0;
  return `${formatDuration(time.usedSeconds)} of ${formatDuration(time.grantedSeconds)} (${share}%)`;
}

const HEADERS = ['requested_at', 'system_id', 'system', 'duration_seconds', 'asked_seconds', 'state', 'decided_by', 'reason', 'ticket', 'request_id', 'used_seconds', 'granted_seconds'];

/**
 * One CSV cell. Text that a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is
 * prefixed with an apostrophe: a reason typed by anyone must not become a formula in an
 * auditor's spreadsheet.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The person's history as CSV (RFC 4180, CRLF line ends), names beside ids. The last two columns
 * are timeUsed's (empty where it says nothing); they come last so the earlier columns keep their places.
 */
export function historyCsv(items: readonly HistoryEntry[], nameOf: (systemId: string) => string): string {
  const rows = items.map((r) => {
    const time = timeUsed(r);
    return [
      r.createdAt,
      r.systemId,
      nameOf(r.systemId),
      String(r.durationSeconds),
      r.askedSeconds ? String(r.askedSeconds) : '',
      r.state,
      decidedBy(r),
      r.reason,
      r.ticket ?? '',
      r.id,
      time ? String(time.usedSeconds) : '',
      time ? String(time.grantedSeconds) : '',
    ]
      .map(csvCell)
      .join(',');
  });
  return [HEADERS.join(','), ...rows].join('\r\n') + '\r\n';
}

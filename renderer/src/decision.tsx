import { formatDuration, type AccessRequest, type ReviewDecision } from '@stint/contract';
import { useState } from 'react';
import type { ScreenProps } from './actions';
import { plain } from './text';

/**
 * Approve and Deny for a request waiting for review (the inbox card's, with its comment, and the
 * popover's). The request leaves the list at once, so the outcome is said in a toast.
 */
export function DecisionButtons({
  request,
  systemName,
  comment = '',
  approveFor,
  bridge,
  run,
  say,
}: ScreenProps & { request: AccessRequest; systemName: string; comment?: string; /** Approve for less than was asked. */ approveFor?: number }) {
  const [busy, setBusy] = useState(false);
  const who = request.requester.name ?? request.requester.sub;
  async function decide(decision: ReviewDecision) {
    setBusy(true);
    const shorter = decision === 'approve' && approveFor !== undefined && approveFor < request.durationSeconds ? { durationSeconds: approveFor } : {};
    const result = await run(bridge.call('review', { requestId: request.id, decision, ...(comment.trim() ? { comment: comment.trim() } : {}), ...shorter }));
    setBusy(false);
    const forWhat = approveFor !== undefined && 'durationSeconds' in shorter ? ` for ${formatDuration(approveFor)} of ${formatDuration(request.durationSeconds)} asked` : '';
    if (result) say?.(`${decision === 'approve' ? 'Approved' : 'Denied'} ${plain(who)}'s request for ${plain(systemName)}${forWhat}; it is now ${result.state}.`);
  }
  return (
    <>
      <button type="button" className="primary" disabled={busy} onClick={() => void decide('approve')}>
        {approveFor !== undefined && approveFor < request.durationSeconds ? `Approve for ${formatDuration(approveFor)}` : 'Approve'}
      </button>
      <button type="button" className="danger" disabled={busy} onClick={() => void decide('deny')}>
        Deny
      </button>
    </>
  );
}

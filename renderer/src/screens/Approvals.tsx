import { formatDuration, type AccessRequest, type CoreState, type ReviewDecision } from '@stint/contract';
import { useId, useState } from 'react';
import type { ScreenProps } from '../actions';
import { useScrollIntoView } from '../highlight';
import { plain, Text } from '../text';

/** The inbox; `focusId` (from `#/reviews/<id>`) highlights that request and scrolls to it. */
export function Approvals({ state, bridge, run, focusId = null }: ScreenProps & { state: CoreState; focusId?: string | null }) {
  const name = (systemId: string) => state.systems.find((s) => s.id === systemId)?.name ?? systemId;
  return (
    <section aria-labelledby="approvals-title">
      <h2 id="approvals-title">Approvals</h2>
      {state.reviewQueue.length === 0 && <p className="muted">Nothing waits for your review.</p>}
      {focusId && state.reviewQueue.length > 0 && !state.reviewQueue.some((r) => r.id === focusId) && (
        <p className="muted">That request no longer waits for your review.</p>
      )}
      <ul className="cards" aria-label="Requests to review">
        {state.reviewQueue.map((request) => (
          <ReviewCard key={request.id} request={request} systemName={name(request.systemId)} focused={request.id === focusId} bridge={bridge} run={run} />
        ))}
      </ul>
    </section>
  );
}

function ReviewCard({ request, systemName, focused, bridge, run }: ScreenProps & { request: AccessRequest; systemName: string; focused: boolean }) {
  const ref = useScrollIntoView<HTMLLIElement>(focused);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const id = useId();
  const who = request.requester.name ?? request.requester.sub;
  const label = `${plain(who)} requests ${plain(systemName)}`;
  async function decide(decision: ReviewDecision) {
    setBusy(true);
    await run(bridge.call('review', { requestId: request.id, decision, ...(comment.trim() ? { comment: comment.trim() } : {}) }));
    setBusy(false);
  }
  return (
    <li ref={ref} className={`card${focused ? ' focused' : ''}`} aria-label={label} aria-current={focused ? 'true' : undefined}>
      <h3>
        <Text value={who} /> → <Text value={systemName} /> for {formatDuration(request.durationSeconds)}
      </h3>
      <p className="multiline">{request.reason ? <Text value={request.reason} multiline /> : <span className="muted">No reason given.</span>}</p>
      {request.ticket && (
        <p className="muted">
          Ticket <Text value={request.ticket} />
        </p>
      )}
      {request.breakGlass && <p className="risk risk-critical">Break-glass request</p>}
      <p className="muted">
        {request.reviews.filter((r) => r.decision === 'approve').length}/{request.approvalsRequired} approvals · expires{' '}
        {new Date(request.pendingExpiresAt).toLocaleTimeString()}
      </p>
      <label htmlFor={`${id}-comment`}>
        <span>Comment (optional)</span>
      </label>
      <input id={`${id}-comment`} value={comment} onChange={(e) => setComment(e.target.value)} maxLength={1000} />
      <div className="actions">
        <button type="button" className="primary" disabled={busy} onClick={() => void decide('approve')}>
          Approve
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void decide('deny')}>
          Deny
        </button>
      </div>
    </li>
  );
}

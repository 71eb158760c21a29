import { bundleMembersText, formatDuration, formatMoment, type AccessRequest, type CoreState, type SystemView } from '@stint/contract';
import { useId, useState } from 'react';
import type { ScreenProps } from '../actions';
import { DecisionButtons } from '../decision';
import { useScrollIntoView } from '../highlight';
import { plain, Text } from '../text';

/** The inbox; `focusId` (from `#/reviews/<id>`) highlights that request and scrolls to it. */
/** "3 min ago", "2 h ago": when a request was made, as an approver weighs it. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

export function Approvals({ state, bridge, run, say, focusId = null }: ScreenProps & { state: CoreState; focusId?: string | null }) {
  const systemOf = (systemId: string) => state.systems.find((s) => s.id === systemId);
  return (
    <section aria-labelledby="approvals-title">
      <h2 id="approvals-title">Approvals</h2>
      {state.reviewQueue.length === 0 && <p className="muted">Nothing waits for your review.</p>}
      {focusId && state.reviewQueue.length > 0 && !state.reviewQueue.some((r) => r.id === focusId) && (
        <p className="muted">That request no longer waits for your review.</p>
      )}
      <ul className="cards" aria-label="Requests to review">
        {state.reviewQueue.map((request) => (
          <ReviewCard key={request.id} request={request} system={systemOf(request.systemId)} focused={request.id === focusId} bridge={bridge} run={run} {...(say ? { say } : {})} />
        ))}
      </ul>
    </section>
  );
}

function ReviewCard({ request, system, focused, bridge, run, say }: ScreenProps & { request: AccessRequest; system: SystemView | undefined; focused: boolean }) {
  const systemName = system?.name ?? request.systemId;
  const ref = useScrollIntoView<HTMLLIElement>(focused);
  const [comment, setComment] = useState('');
  const [approveFor, setApproveFor] = useState(request.durationSeconds);
  // An approver may approve for less, never more: what was asked, and the system's shorter presets.
  const shorter = (system?.durationPresetsSeconds ?? []).filter((s) => s < request.durationSeconds).sort((a, b) => b - a);
  const id = useId();
  const who = request.requester.name ?? request.requester.sub;
  const label = `${plain(who)} requests ${plain(systemName)}`;
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
      {system?.bundle?.length ? (
        <p>
          <strong>Bundle:</strong> approving gives access to {bundleMembersText(system.bundle)}
        </p>
      ) : null}
      {request.onCallCheck && (
        <p className="muted">
          On call: <Text value={request.onCallCheck.words} />
        </p>
      )}
      {request.extendsGrantId && <p className="badge">Extension: more time on a grant that is active now</p>}
      {request.breakGlass && <p className="risk risk-critical">Break-glass request</p>}
      {request.startAt ? (
        <p>
          <strong>
            Starts at <time dateTime={request.startAt}>{formatMoment(request.startAt)}</time>
          </strong>{' '}
          (a maintenance window): approving now approves ahead
        </p>
      ) : (
        system?.startWindowSeconds && !request.extendsGrantId && <p className="muted">Once approved, it waits up to {formatDuration(system.startWindowSeconds)} for the requester to start it.</p>
      )}
      <p className="muted">
        {system && <span className={`risk risk-${system.risk}`}>{system.risk} risk</span>}
        {system && ' · '}
        asked <time dateTime={request.createdAt} title={new Date(request.createdAt).toLocaleString()}>{ago(request.createdAt)}</time> ·{' '}
        {request.reviews.filter((r) => r.decision === 'approve').length}/{request.approvalsRequired} approvals · expires{' '}
        {new Date(request.pendingExpiresAt).toLocaleTimeString()}
      </p>
      {request.recentRequests !== undefined && (
        <p className="muted">
          {request.recentRequests === 0
            ? `First request for ${plain(systemName)} in 30 days.`
            : `${request.recentRequests} earlier request${request.recentRequests === 1 ? '' : 's'} for ${plain(systemName)} in the last 30 days.`}
        </p>
      )}
      <label htmlFor={`${id}-comment`}>
        <span>Comment (optional)</span>
      </label>
      <input id={`${id}-comment`} value={comment} onChange={(e) => setComment(e.target.value)} maxLength={1000} />
      {shorter.length > 0 && (
        <>
          <label htmlFor={`${id}-for`}>
            <span>Approve for</span>
          </label>
          <select id={`${id}-for`} value={approveFor} onChange={(e) => setApproveFor(Number(e.target.value))}>
            <option value={request.durationSeconds}>{formatDuration(request.durationSeconds)} (as asked)</option>
            {shorter.map((seconds) => (
              <option key={seconds} value={seconds}>
                {formatDuration(seconds)}
              </option>
            ))}
          </select>
        </>
      )}
      <div className="actions">
        <DecisionButtons request={request} systemName={systemName} comment={comment} approveFor={approveFor} bridge={bridge} run={run} {...(say ? { say } : {})} />
      </div>
    </li>
  );
}

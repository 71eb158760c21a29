import { bundleMembersText, formatDuration, grantConnectLines, formatMoment, shortenedBecause, TERMINAL_REQUEST_STATES, type AccessRequest, type CoreState, type LocalGrant, type WaitingGrant } from '@stint/contract';
import { Text } from '../text';
import type { ReactNode } from 'react';
import type { ScreenProps } from '../actions';
import { ConfirmButton } from '../confirm';
import { CopyField } from '../copy-field';
import { Countdown, useNow } from '../countdown';
import { GrantActions } from '../grant-actions';
import { useScrollIntoView } from '../highlight';
import { extensionSeconds } from '../notice';
import { StateBadge } from '../state-badge';

/** Grants and requests; `focus` (from `#/grants/<id>` or `#/requests/<id>`) highlights one and scrolls to it. */
export function MyAccess({
  state,
  bridge,
  run,
  focus = null,
}: ScreenProps & { state: CoreState; focus?: { grantId: string } | { requestId: string } | null }) {
  const focusGrant = focus && 'grantId' in focus ? focus.grantId : null;
  const focusRequest = focus && 'requestId' in focus ? focus.requestId : null;
  const now = useNow();
  const grants = state.grants.filter((g) => g.state === 'active' || g.state === 'issuing');
  const requests = [...state.myRequests].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const name = (systemId: string) => state.systems.find((s) => s.id === systemId)?.name ?? systemId;

  return (
    <>
      {state.waiting.length > 0 && (
        <section aria-labelledby="waiting-title">
          <h2 id="waiting-title">Approved, not started</h2>
          <ul className="cards" aria-label="Approved, not started">
            {state.waiting.map((w) => (
              <WaitingCard key={w.grantId} waiting={w} name={name(w.systemId)} now={now} focused={w.grantId === focusGrant} bridge={bridge} run={run} />
            ))}
          </ul>
        </section>
      )}
      <section aria-labelledby="grants-title">
        <h2 id="grants-title">Active grants</h2>
        {grants.length === 0 && <p className="muted">No active access. Pick a system in the catalog.</p>}
        <ul className="cards" aria-label="Active grants">
          {grants.map((grant) => (
            <GrantCard key={grant.grantId} focused={grant.grantId === focusGrant} grant={grant} name={name(grant.systemId)} now={now} state={state} bridge={bridge} run={run} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="requests-title">
        <h2 id="requests-title">My requests</h2>
        {requests.length === 0 && <p className="muted">No requests yet.</p>}
        <ul className="rows" aria-label="My requests">
          {requests.map((request) => (
            <RequestRow key={request.id} focused={request.id === focusRequest}>
              <span className="row-main">
                <strong>{name(request.systemId)}</strong> for {formatDuration(request.durationSeconds)}
                {request.askedSeconds && <span className="muted"> · approved for less than the {formatDuration(request.askedSeconds)} you asked{shortenedBecause(request)}</span>}
                {request.autoApprovedBy && <span className="muted"> · {onCallWords(request.autoApprovedBy)}</span>}
                {request.startAt && <span className="muted"> · from {formatMoment(request.startAt, now)}</span>}
                {request.reason && (
                  <span className="muted">
                    {' '}
                    — <Text value={request.reason} />
                  </span>
                )}
              </span>
              <StateBadge state={request.state} />
              {request.failureReason && (
                <span className="muted">
                  Not issued: <Text value={request.failureReason} />
                </span>
              )}
              {request.state === 'pending' && (
                <span className="muted">
                  {request.reviews.filter((r) => r.decision === 'approve').length}/{request.approvalsRequired} approvals
                </span>
              )}
              {!TERMINAL_REQUEST_STATES.includes(request.state) && request.state === 'pending' && (
                <button type="button" className="secondary" onClick={() => void run(bridge.call('cancel', { requestId: request.id }))}>
                  Cancel
                </button>
              )}
            </RequestRow>
          ))}
        </ul>
      </section>
    </>
  );
}

function RequestRow({ focused, children }: { focused: boolean; children: ReactNode }) {
  const ref = useScrollIntoView<HTMLLIElement>(focused);
  return (
    <li ref={ref} className={`row${focused ? ' focused' : ''}`} aria-current={focused ? 'true' : undefined}>
      {children}
    </li>
  );
}

function GrantCard({ grant, name, now, state, focused, bridge, run }: ScreenProps & { grant: LocalGrant; name: string; now: number; state: CoreState; focused: boolean }) {
  const ref = useScrollIntoView<HTMLLIElement>(focused);
  const extendBy = extensionSeconds(state, grant.systemId);
  const system = state.systems.find((s) => s.id === grant.systemId);
  const lines = grant.state === 'active' ? grantConnectLines(system, grant.systemId, grant.envNames) : [];
  return (
    <li ref={ref} className={`card grant${focused ? ' focused' : ''}`} aria-label={`${name} grant`} aria-current={focused ? 'true' : undefined}>
      <Countdown startsAt={grant.startsAt} expiresAt={grant.expiresAt} now={now} />
      <div className="grant-body">
        <h3>{name}</h3>
        {system?.bundle?.length ? <p className="muted">{bundleMembersText(system.bundle)}</p> : null}
        <p className="muted">
          Until {new Date(grant.expiresAt).toLocaleTimeString()}
          {grant.envNames.length > 0 && <> · sets {grant.envNames.join(', ')}</>}
          {grant.state === 'issuing' && <> · issuing…</>}
          {!grant.stored && grant.state === 'active' && <> · not in the keychain</>}
        </p>
      </div>
      {lines.length > 0 && (
        <div className="connect">
          {lines.map((line) => (
            <CopyField key={line.command} label={line.where === 'hooked shell' ? 'In a shell with the Stint hook' : 'In any shell'} value={line.command} />
          ))}
        </div>
      )}
      <div className="actions">
        <GrantActions grant={grant} extendBy={extendBy} question={`End ${name} now? Its credential is wiped from this machine and revoked.`} bridge={bridge} run={run} />
      </div>
    </li>
  );
}

/**
 * An approval that waits (start when ready): Start begins the countdown now; one with a start
 * time starts by itself. Giving it up ends it at the server without anything being issued.
 */
function WaitingCard({ waiting, name, now, focused, bridge, run }: ScreenProps & { waiting: WaitingGrant; name: string; now: number; focused: boolean }) {
  const ref = useScrollIntoView<HTMLLIElement>(focused);
  return (
    <li ref={ref} className={`card grant${focused ? ' focused' : ''}`} aria-label={`${name} approved, not started`} aria-current={focused ? 'true' : undefined}>
      <div className="grant-body">
        <h3>{name}</h3>
        <p className="muted">
          {formatDuration(waiting.durationSeconds)} approved ·{' '}
          {waiting.startAt ? `starts by itself at ${formatMoment(waiting.startAt, now)}` : `start before ${waiting.startBy ? formatMoment(waiting.startBy, now) : 'the window closes'}; the countdown begins then`}
        </p>
      </div>
      <div className="actions">
        {!waiting.startAt && (
          <button type="button" className="primary" onClick={() => void run(bridge.call('start', { grantId: waiting.grantId }))}>
            Start now
          </button>
        )}
        <ConfirmButton ask className="danger" question={`Give up ${name}? The approval ends and nothing is issued.`} confirmText="Give it up" onConfirm={() => void run(bridge.call('release', { grantId: waiting.grantId }))}>
          Give up
        </ConfirmButton>
      </div>
    </li>
  );
}

/** Why no one reviewed it: "approved at once: you were on call (pagerduty schedule PSCHED1, shift until 18:00)". */
export function onCallWords(by: NonNullable<AccessRequest['autoApprovedBy']>): string {
  const until = by.shiftEnd ? `, shift until ${new Date(by.shiftEnd).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : '';
  return `approved at once: you were on call (${by.source} schedule ${by.schedule}${until})`;
}

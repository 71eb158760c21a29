import { formatDuration, formatMoment, missingForPolicy, recentRequests, type AccessRequest, type CoreState, type LocalGrant, type RememberedRequest, type Settings } from '@stint/contract';
import { useEffect, useId, useState } from 'react';
import type { ScreenProps } from '../actions';
import { Countdown, useNow } from '../countdown';
import { DecisionButtons } from '../decision';
import { GrantActions } from '../grant-actions';
import { extensionSeconds } from '../notice';
import { routeHash } from '../use-route';
import { plain, Text } from '../text';

const SEARCH_RESULTS = 5;

/**
 * The tray popover (`#/tray`, 360×520 beside the tray icon; the same page in web mode): the
 * product's home for a working day. Live grants with their rings, Extend and Release; pinned and
 * recent one-click requests; requests waiting for the person's review with Approve and Deny; a
 * search that requests any system. Links open the main window (electron/src/popover.ts).
 */
export function Tray({ state, bridge, run, say }: ScreenProps & { state: CoreState | null }) {
  const now = useNow();
  const signedIn = state?.auth.status === 'signed-in';
  const [pinned, setPinned] = useState<Settings['pinned']>([]);
  useEffect(() => {
    if (!signedIn) return;
    // Pins change in the main window; the popover (kept loaded, only hidden) reads them again
    // each time it is shown.
    const load = () => void run(bridge.call('getSettings', {})).then((settings) => settings && setPinned(settings.pinned));
    load();
    window.addEventListener('focus', load);
    return () => window.removeEventListener('focus', load);
  }, [bridge, run, signedIn]);

  return (
    <main className="tray" aria-label="Stint">
      <header className="tray-head">
        <h1 className="brand">Stint</h1>
        {state && <span className={`dot dot-${state.connection}`} aria-label={`Server ${state.connection}`} role="img" />}
        <a className="tray-open" href={routeHash({ view: 'home' })}>
          Open Stint
        </a>
      </header>
      {!state ? (
        <p aria-busy="true">Connecting to Stint…</p>
      ) : !signedIn ? (
        <p className="muted">
          Signed out. <a href={routeHash({ view: 'home' })}>Sign in</a>
        </p>
      ) : (
        <>
          <TrayGrants state={state} now={now} bridge={bridge} run={run} />
          <TrayReviews state={state} bridge={bridge} run={run} {...(say ? { say } : {})} />
          <TrayQuick state={state} pinned={pinned} bridge={bridge} run={run} {...(say ? { say } : {})} />
          <TraySearch state={state} />
        </>
      )}
    </main>
  );
}

const nameIn = (state: CoreState, systemId: string) => state.systems.find((s) => s.id === systemId)?.name ?? systemId;

function TrayGrants({ state, now, bridge, run }: ScreenProps & { state: CoreState; now: number }) {
  const grants = state.grants.filter((g) => g.state === 'active').sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
  return (
    <section aria-labelledby="tray-grants">
      <h2 id="tray-grants">Active access</h2>
      {state.waiting.length > 0 && (
        <ul className="tray-list" aria-label="Approved, not started">
          {state.waiting.map((w) => (
            <li key={w.grantId} className="tray-grant" aria-label={`${plain(nameIn(state, w.systemId))} approved, not started`}>
              <a href={routeHash({ view: 'grant', grantId: w.grantId })}>
                <Text value={nameIn(state, w.systemId)} />
              </a>
              <span className="muted">
                {formatDuration(w.durationSeconds)} · {w.startAt ? `starts ${formatMoment(w.startAt, now)}` : `start by ${w.startBy ? formatMoment(w.startBy, now) : '—'}`}
              </span>
              {!w.startAt && (
                <span className="tray-actions">
                  <button type="button" className="primary" onClick={() => void run(bridge.call('start', { grantId: w.grantId }))}>
                    Start now
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {grants.length === 0 ? (
        state.waiting.length === 0 && <p className="muted">No active access.</p>
      ) : (
        <ul className="tray-list" aria-label="Active grants">
          {grants.map((grant) => (
            <TrayGrant key={grant.grantId} grant={grant} name={nameIn(state, grant.systemId)} extendBy={extensionSeconds(state, grant.systemId)} now={now} bridge={bridge} run={run} />
          ))}
        </ul>
      )}
    </section>
  );
}

function TrayGrant({ grant, name, extendBy, now, bridge, run }: ScreenProps & { grant: LocalGrant; name: string; extendBy: number; now: number }) {
  return (
    <li className="tray-grant" aria-label={`${plain(name)} grant`}>
      <Countdown startsAt={grant.startsAt} expiresAt={grant.expiresAt} now={now} />
      <a href={routeHash({ view: 'grant', grantId: grant.grantId })}>
        <Text value={name} />
      </a>
      <span className="tray-actions">
        <GrantActions grant={grant} extendBy={extendBy} question={`End ${plain(name)} now?`} bridge={bridge} run={run} />
      </span>
    </li>
  );
}

function TrayReviews({ state, bridge, run, say }: ScreenProps & { state: CoreState }) {
  const waiting = state.reviewQueue.filter((r) => r.state === 'pending');
  if (waiting.length === 0) return <p className="muted">Nothing waits for your review.</p>;
  return (
    <section aria-labelledby="tray-reviews">
      <h2 id="tray-reviews">
        <a href={routeHash({ view: 'reviews' })}>Waiting for your review ({waiting.length})</a>
      </h2>
      <ul className="tray-list" aria-label="Requests to review">
        {waiting.map((request) => (
          <TrayReview key={request.id} request={request} name={nameIn(state, request.systemId)} bridge={bridge} run={run} {...(say ? { say } : {})} />
        ))}
      </ul>
    </section>
  );
}

function TrayReview({ request, name, bridge, run, say }: ScreenProps & { request: AccessRequest; name: string }) {
  const who = request.requester.name ?? request.requester.sub;
  return (
    <li className="tray-review" aria-label={`${plain(who)} requests ${plain(name)}`}>
      <a href={routeHash({ view: 'review', requestId: request.id })}>
        <Text value={who} /> → <Text value={name} /> for {formatDuration(request.durationSeconds)}
        {request.extendsGrantId ? ' (extension)' : ''}
        {request.breakGlass ? ' (break-glass)' : ''}
      </a>
      <span className="muted tray-reason">{request.reason ? <Text value={request.reason} /> : 'No reason given.'}</span>
      <span className="tray-actions">
        <DecisionButtons request={request} systemName={name} bridge={bridge} run={run} {...(say ? { say } : {})} />
      </span>
    </li>
  );
}

/** Pinned and recent requests: one click asks again; one that lacks what the policy needs opens the form filled in. */
function TrayQuick({ state, pinned, bridge, run, say }: ScreenProps & { state: CoreState; pinned: Settings['pinned'] }) {
  const known = (entry: RememberedRequest) => state.systems.some((s) => s.id === entry.systemId);
  const entries = [...pinned.filter(known), ...recentRequests(state, pinned, 3).filter(known)];
  if (entries.length === 0) return null;
  const pinnedCount = pinned.filter(known).length;
  async function ask(entry: RememberedRequest) {
    const request = await run(bridge.call('request', { systemId: entry.systemId, durationSeconds: entry.durationSeconds, reason: entry.reason, ...(entry.ticket ? { ticket: entry.ticket } : {}), breakGlass: false }));
    if (request) say?.(`Asked for ${plain(nameIn(state, entry.systemId))} for ${formatDuration(entry.durationSeconds)}; it is ${request.state}.`);
  }
  return (
    <section aria-labelledby="tray-quick">
      <h2 id="tray-quick">Ask again</h2>
      <ul className="tray-list" aria-label="Pinned and recent requests">
        {entries.map((entry, index) => {
          const system = state.systems.find((s) => s.id === entry.systemId)!;
          const label = `${system.name} for ${formatDuration(entry.durationSeconds)}${entry.reason ? ` — “${entry.reason}”` : ''}${index < pinnedCount ? ' (pinned)' : ''}`;
          const missing = missingForPolicy(system, entry);
          return (
            <li key={`${index}:${entry.systemId}`}>
              {missing ? (
                <a href={routeHash({ view: 'new-request', prefill: { systemId: entry.systemId, durationSeconds: entry.durationSeconds, reason: entry.reason, ...(entry.ticket ? { ticket: entry.ticket } : {}) } })} title={`Needs ${missing}: opens the form`}>
                  <Text value={label} />…
                </a>
              ) : (
                <button type="button" className="secondary quick" onClick={() => void ask(entry)}>
                  <Text value={label} />
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** Any system in the catalog: a match opens the request form for it in the main window. */
function TraySearch({ state }: { state: CoreState }) {
  const [query, setQuery] = useState('');
  const id = useId();
  const q = query.trim().toLowerCase();
  const matches = q ? state.systems.filter((s) => `${s.id} ${s.name} ${s.description}`.toLowerCase().includes(q)).slice(0, SEARCH_RESULTS) : [];
  return (
    <section aria-labelledby={`${id}-title`} className="tray-search">
      <h2 id={`${id}-title`}>Request access</h2>
      <label htmlFor={id} className="visually-hidden">
        Search systems to request
      </label>
      <input id={id} type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search systems" />
      {q && (
        <ul className="tray-list" aria-label="Matching systems">
          {matches.map((system) => (
            <li key={system.id}>
              <a href={routeHash({ view: 'new-request', prefill: { systemId: system.id, durationSeconds: null, reason: '' } })}>
                <Text value={system.name} /> <span className={`risk risk-${system.risk}`}>{system.risk}</span>
              </a>
            </li>
          ))}
          {matches.length === 0 && <li className="muted">No system matches.</li>}
        </ul>
      )}
    </section>
  );
}

import type { CoreState } from '@stint/contract';
import { Countdown, useNow } from '../countdown';
import { routeHash } from '../routes';

/** The tray popover (`#/tray`): live grants with their countdowns, the review count, and a way into the app. */
export function Tray({ state }: { state: CoreState | null }) {
  const now = useNow();
  const signedIn = state?.auth.status === 'signed-in';
  const grants = signedIn ? state.grants.filter((g) => g.state === 'active') : [];
  const waiting = signedIn ? state.reviewQueue.length : 0;
  const name = (systemId: string) => state?.systems.find((s) => s.id === systemId)?.name ?? systemId;

  return (
    <main className="tray" aria-label="Stint">
      <header className="tray-head">
        <h1 className="brand">Stint</h1>
        {state && <span className={`dot dot-${state.connection}`} aria-label={`Server ${state.connection}`} role="img" />}
      </header>
      {!state ? (
        <p aria-busy="true">Connecting to Stint…</p>
      ) : !signedIn ? (
        <p className="muted">Signed out.</p>
      ) : (
        <>
          {grants.length === 0 ? (
            <p className="muted">No active access.</p>
          ) : (
            <ul className="tray-grants" aria-label="Active grants">
              {grants.map((grant) => (
                <li key={grant.grantId} className="tray-grant" aria-label={`${name(grant.systemId)} grant`}>
                  <Countdown startsAt={grant.startsAt} expiresAt={grant.expiresAt} now={now} />
                  <a href={routeHash({ view: 'grant', grantId: grant.grantId })}>{name(grant.systemId)}</a>
                </li>
              ))}
            </ul>
          )}
          <p>
            {waiting === 0 ? (
              <span className="muted">Nothing waits for your review.</span>
            ) : (
              <a href={routeHash({ view: 'reviews' })}>
                {waiting} {waiting === 1 ? 'request waits' : 'requests wait'} for your review
              </a>
            )}
          </p>
        </>
      )}
      <p className="tray-foot">
        <a href={routeHash({ view: 'home' })}>Open Stint</a>
      </p>
    </main>
  );
}

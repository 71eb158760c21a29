import { bundleMembersText, formatDuration, type CoreState, type Settings, type SystemView } from '@stint/contract';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { ScreenProps } from '../actions';
import { isAutoApproved, policyText } from '../policy';
import type { RequestFormPrefill } from '../use-route';

interface Selected {
  systemId: string;
  /** null: start on the system's first preset. */
  duration: number | null;
  reason: string;
  ticket?: string;
}

/**
 * The catalog; `prefill` (from a `#/request?...` link) opens the request form filled in. It is
 * never submitted for the person: only their click on "Submit request" asks for access.
 */
export function Catalog({
  state,
  bridge,
  run,
  prefill = null,
  onRequested,
  onClosed,
}: ScreenProps & { state: CoreState; prefill?: RequestFormPrefill | null; onRequested(): void; onClosed?(): void }) {
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<Selected | null>(() =>
    prefill ? { systemId: prefill.systemId, duration: prefill.durationSeconds, reason: prefill.reason, ...(prefill.ticket ? { ticket: prefill.ticket } : {}) } : null,
  );
  const searchId = useId();
  // Focus goes back to the button that opened the form when it closes, not to the page's start.
  const trigger = useRef<HTMLElement | null>(null);
  const returnFocus = () => requestAnimationFrame(() => (trigger.current?.isConnected ? trigger.current : document.getElementById(searchId))?.focus());
  const q = query.trim().toLowerCase();
  const systems = state.systems.filter((s) => !q || `${s.id} ${s.name} ${s.description}`.toLowerCase().includes(q));
  const chosen = selected && state.systems.find((s) => s.id === selected.systemId);

  return (
    <section aria-labelledby="catalog-title">
      <h2 id="catalog-title">Catalog</h2>
      <label htmlFor={searchId} className="search">
        <span>Search systems</span>
        <input id={searchId} type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="name, id or description" />
      </label>
      {chosen && selected ? (
        <RequestForm
          key={chosen.id}
          system={chosen}
          initialDuration={selected.duration}
          initialReason={selected.reason}
          initialTicket={selected.ticket ?? ''}
          bridge={bridge}
          run={run}
          onCancel={() => {
            setSelected(null);
            returnFocus();
            onClosed?.();
          }}
          onDone={() => {
            setSelected(null);
            returnFocus();
            onRequested();
          }}
        />
      ) : selected ? (
        <p className="problem" role="alert">
          The link asks for “{selected.systemId}”, which is not in your catalog.
        </p>
      ) : null}
      <ul className="cards" aria-label="Systems">
        {systems.map((system) => (
          <li key={system.id} className="card">
            <div className="card-head">
              <h3>{system.name}</h3>
              <span className={`risk risk-${system.risk}`}>{system.risk} risk</span>
            </div>
            <p className="muted">{system.description}</p>
            {system.bundle?.length ? (
              <p>
                <strong>Bundle:</strong> one request, one review and one countdown for {bundleMembersText(system.bundle)}, each with its own credential.
              </p>
            ) : null}
            <p className="policy">{[...policyText(system.policy), ...(system.startWindowSeconds ? [`you start it within ${formatDuration(system.startWindowSeconds)} of approval`] : [])].join(' · ')}</p>
            <div className="presets" role="group" aria-label={`Request ${system.name} for`}>
              {system.durationPresetsSeconds.map((seconds) => (
                <button
                  key={seconds}
                  type="button"
                  className="preset"
                  aria-label={`Request ${system.name} for ${formatDuration(seconds)}`}
                  onClick={(event) => {
                    trigger.current = event.currentTarget;
                    setSelected({ systemId: system.id, duration: seconds, reason: '' });
                  }}
                >
                  {formatDuration(seconds)}
                </button>
              ))}
            </div>
          </li>
        ))}
        {systems.length === 0 && <li className="muted">No system matches “{query}”.</li>}
      </ul>
    </section>
  );
}

/** A datetime-local value (the person's own clock) as the instant the server takes; null when empty or not a time. */
export function startTime(local: string): string | null {
  if (!local) return null;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/** The durations the form offers: the presets, plus a linked duration within the system's maximum. */
export function durationChoices(system: Pick<SystemView, 'durationPresetsSeconds' | 'maxDurationSeconds'>, wanted: number | null): { choices: number[]; initial: number } {
  const presets = system.durationPresetsSeconds;
  if (wanted !== null && (presets.includes(wanted) || wanted <= system.maxDurationSeconds)) {
    return { choices: [...new Set([...presets, wanted])].sort((a, b) => a - b), initial: wanted };
  }
  const initial = presets[0] ?? Math.min(900, system.maxDurationSeconds);
  return { choices: presets.length ? presets : [initial], initial };
}

type Pinned = Settings['pinned'][number];

/** Adds a pinned request (replacing one for the same system), keeping the newest 20. */
export function withPinned(pinned: readonly Pinned[], next: Pinned): Pinned[] {
  return [next, ...pinned.filter((p) => p.systemId !== next.systemId)].slice(0, 20);
}

function RequestForm({
  system,
  initialDuration,
  initialReason,
  initialTicket,
  bridge,
  run,
  onCancel,
  onDone,
}: ScreenProps & { system: SystemView; initialDuration: number | null; initialReason: string; initialTicket: string; onCancel(): void; onDone(): void }) {
  const [{ choices, initial }] = useState(() => durationChoices(system, initialDuration));
  const [duration, setDuration] = useState(initial);
  const [reason, setReason] = useState(initialReason);
  const [ticket, setTicket] = useState(initialTicket);
  const [breakGlass, setBreakGlass] = useState(false);
  const [later, setLater] = useState(false);
  const [startAt, setStartAt] = useState('');
  const [pin, setPin] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const { policy } = system;
  // The form takes focus when it opens (it appears above the list, away from the button).
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (policy.justification === 'required' && !reason.trim()) return setProblem('A reason is required for this system.');
    if (policy.ticketPattern && !new RegExp(policy.ticketPattern).test(ticket.trim())) return setProblem(`The ticket must match ${policy.ticketPattern}.`);
    const start = later && !breakGlass ? startTime(startAt) : null;
    if (later && !breakGlass && !start) return setProblem('Pick the date and time the access should start, or untick “Start later”.');
    setProblem(null);
    setBusy(true);
    const request = await run(
      bridge.call('request', {
        systemId: system.id,
        durationSeconds: duration,
        reason: reason.trim(),
        breakGlass,
        ...(policy.ticketPattern ? { ticket: ticket.trim() } : {}),
        ...(start ? { startAt: start } : {}),
      }),
    );
    if (request && pin) {
      // One click next time: the tray menu's "Pinned" section requests exactly this again.
      const settings = await run(bridge.call('getSettings', {}));
      // With the ticket: a ticket-gated system's pin would otherwise fail on every click.
      const pinned = { systemId: system.id, durationSeconds: duration, reason: reason.trim(), ...(policy.ticketPattern ? { ticket: ticket.trim() } : {}) };
      if (settings) await run(bridge.call('updateSettings', { pinned: withPinned(settings.pinned, pinned) }));
    }
    setBusy(false);
    if (request) onDone();
  }

  return (
    <form
      className="card request-form"
      onSubmit={submit}
      aria-labelledby={`${id}-title`}
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return;
        event.preventDefault();
        onCancel();
      }}
    >
      <h3 id={`${id}-title`}>Request {system.name}</h3>
      <p className="policy">
        {isAutoApproved(policy, duration) ? 'This request will be approved at once.' : policyText(policy).join(' · ')}
      </p>
      <label>
        <span>Duration</span>
        <select ref={first} value={duration} onChange={(e) => setDuration(Number(e.target.value))}>
          {choices.map((s) => (
            <option key={s} value={s}>
              {formatDuration(s)}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Reason{policy.justification === 'required' ? ' (required)' : ' (optional)'}</span>
        <textarea value={reason} onChange={(e) => setReason(e.target.value)} maxLength={1000} rows={3} required={policy.justification === 'required'} />
      </label>
      {policy.ticketPattern && (
        <label>
          <span>Ticket</span>
          <input value={ticket} onChange={(e) => setTicket(e.target.value)} placeholder="e.g. OPS-123" maxLength={200} required />
        </label>
      )}
      {policy.breakGlassAllowed && (
        <label className="check">
          <input type="checkbox" checked={breakGlass} onChange={(e) => setBreakGlass(e.target.checked)} />
          <span>Break glass (granted at once, flagged for audit)</span>
        </label>
      )}
      {!breakGlass && (
        <label className="check">
          <input type="checkbox" checked={later} onChange={(e) => setLater(e.target.checked)} />
          <span>Start later (a maintenance window): approvers can approve ahead, and it starts by itself then</span>
        </label>
      )}
      {later && !breakGlass && (
        <label>
          <span>Start at (your time, within 7 days)</span>
          <input type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} required />
        </label>
      )}
      {system.startWindowSeconds && !later && <p className="muted">Once approved, it waits for you: start it within {formatDuration(system.startWindowSeconds)} from the tray, a notification or `stint start`; the countdown begins then.</p>}
      {system.needsPublicKey && <p className="muted">Stint makes a fresh SSH key for this grant; it stays in your keychain and your ssh-agent, and is gone when the grant ends.</p>}
      {!breakGlass && (
        <label className="check">
          <input type="checkbox" checked={pin} onChange={(e) => setPin(e.target.checked)} />
          <span>Pin to the tray menu (one click to ask again)</span>
        </label>
      )}
      {problem && (
        <p className="problem" role="alert">
          {problem}
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          Submit request
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

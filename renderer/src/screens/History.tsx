import { formatDuration, RequestState, type CoreState, type HistoryEntry } from '@stint/contract';
import { Text } from '../text';
import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import type { ScreenProps } from '../actions';
import { decidedBy, historyCsv, timeUsedText } from '../history-export';
import { StateBadge } from '../state-badge';

/** Your own requests: who decided each, how much of each ended grant was used, filtered by system, state or words, and exported as CSV. */
export function History({ bridge, run, state }: ScreenProps & { state: CoreState }) {
  const [items, setItems] = useState<HistoryEntry[] | null>(null);
  const [system, setSystem] = useState('');
  const [status, setStatus] = useState('');
  const [words, setWords] = useState('');
  const id = useId();
  const load = useCallback(async () => {
    const result = await run(bridge.call('history', {}));
    if (result) setItems(result);
  }, [bridge, run]);
  useEffect(() => {
    void load();
  }, [load]);

  const nameOf = useCallback((systemId: string) => state.systems.find((s) => s.id === systemId)?.name ?? systemId, [state.systems]);
  const systems = useMemo(() => [...new Set((items ?? []).map((r) => r.systemId))].sort(), [items]);
  const q = words.trim().toLowerCase();
  const shown = (items ?? []).filter(
    (r) =>
      (!system || r.systemId === system) &&
      (!status || r.state === status) &&
      (!q || `${r.reason} ${r.ticket ?? ''} ${decidedBy(r)} ${nameOf(r.systemId)}`.toLowerCase().includes(q)),
  );

  function exportCsv() {
    const url = URL.createObjectURL(new Blob([historyCsv(shown, nameOf)], { type: 'text/csv;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `stint-history-${new Date().toISOString().slice(0, 10)}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  return (
    <section aria-labelledby="history-title">
      <div className="section-head">
        <h2 id="history-title">History</h2>
        <span className="actions">
          <button type="button" className="secondary" disabled={shown.length === 0} onClick={exportCsv}>
            Export CSV
          </button>
          <button type="button" className="secondary" onClick={() => void load()}>
            Refresh
          </button>
        </span>
      </div>
      <div className="filters" role="group" aria-label="Filter history">
        <label htmlFor={`${id}-system`}>
          <span>System</span>
          <select id={`${id}-system`} value={system} onChange={(e) => setSystem(e.target.value)}>
            <option value="">All systems</option>
            {systems.map((s) => (
              <option key={s} value={s}>
                {nameOf(s)}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-state`}>
          <span>State</span>
          <select id={`${id}-state`} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">Any state</option>
            {RequestState.options.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-words`}>
          <span>Search</span>
          <input id={`${id}-words`} type="search" value={words} onChange={(e) => setWords(e.target.value)} placeholder="reason, ticket, approver" />
        </label>
      </div>
      {items === null && <p aria-busy="true">Loading…</p>}
      {items?.length === 0 && <p className="muted">No past requests.</p>}
      {items && items.length > 0 && shown.length === 0 && <p className="muted">No request matches these filters.</p>}
      {shown.length > 0 && (
        <table className="history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">System</th>
              <th scope="col">Duration</th>
              <th scope="col">State</th>
              <th scope="col">Decided by</th>
              <th scope="col">Time used</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.createdAt).toLocaleString()}</td>
                <td>
                  <Text value={nameOf(r.systemId)} />
                </td>
                <td>
                  {formatDuration(r.durationSeconds)}
                  {r.askedSeconds ? <span className="muted"> (asked {formatDuration(r.askedSeconds)})</span> : null}
                </td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>
                  <Text value={decidedBy(r)} />
                </td>
                <td>{timeUsedText(r)}</td>
                <td>
                  <Text value={r.reason} />
                  {r.ticket && (
                    <span className="muted">
                      {' '}
                      (<Text value={r.ticket} />)
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

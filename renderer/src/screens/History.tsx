import { formatDuration, type AccessRequest } from '@stint/contract';
import { Text } from '../text';
import { useCallback, useEffect, useState } from 'react';
import type { ScreenProps } from '../actions';
import { StateBadge } from '../state-badge';

export function History({ bridge, run }: ScreenProps) {
  const [items, setItems] = useState<AccessRequest[] | null>(null);
  const load = useCallback(async () => {
    const result = await run(bridge.call('history', {}));
    if (result) setItems(result);
  }, [bridge, run]);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-labelledby="history-title">
      <div className="section-head">
        <h2 id="history-title">History</h2>
        <button type="button" className="secondary" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {items === null && <p aria-busy="true">Loading…</p>}
      {items?.length === 0 && <p className="muted">No past requests.</p>}
      {items && items.length > 0 && (
        <table className="history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">System</th>
              <th scope="col">Duration</th>
              <th scope="col">State</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.createdAt).toLocaleString()}</td>
                <td>{r.systemId}</td>
                <td>{formatDuration(r.durationSeconds)}</td>
                <td>
                  <StateBadge state={r.state} />
                </td>
                <td>
                  <Text value={r.reason} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

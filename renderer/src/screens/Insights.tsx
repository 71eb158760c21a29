import { formatDuration, type AuditEntry, type CoreState, type InsightEvidence, type InsightsResponse } from '@stint/contract';
import { useCallback, useEffect, useId, useMemo, useRef, useState, type ReactNode } from 'react';
import type { ScreenProps } from '../actions';
import {
  breakGlassFigure,
  dailyFigure,
  defaultFilters,
  grantUseFigure,
  insightsQuery,
  latencyFigure,
  mergeEvidence,
  outcomesFigure,
  periodDays,
  rowsSummary,
  topRequestersFigure,
  type Figure,
  type InsightsFilters,
} from '../insights-figures';
import { Text } from '../text';
import { InsightsChart } from './InsightsChart';

const SUGGESTION_TITLES = {
  auto_approve_candidate: 'Could be approved without review',
  max_duration_too_short: 'Maximum duration too short',
  max_duration_too_long: 'Maximum duration too long',
  idle_approver: 'Approver who never reviews',
} as const;

interface ShownRows {
  title: string;
  evidence: InsightEvidence;
  entries: AuditEntry[] | null;
}

type ShowRows = (title: string, evidence: InsightEvidence) => void;

/**
 * Auditors and admins: figures from the audit log for a period (GET /v1/insights), each drawn
 * and tabled, every number a link to the audit rows behind it. The server refuses anyone else;
 * App shows the tab only to auditors and admins.
 */
export function Insights({ bridge, run, state }: ScreenProps & { state: CoreState }) {
  const id = useId();
  const [filters, setFilters] = useState<InsightsFilters>(() => defaultFilters(Date.now()));
  const [applied, setApplied] = useState(filters);
  const [data, setData] = useState<InsightsResponse | null>(null);
  const [loading, setLoading] = useState(false);
  const [rows, setRows] = useState<ShownRows | null>(null);
  const rowsHeading = useRef<HTMLHeadingElement>(null);
  const latest = useRef(0);

  useEffect(() => {
    const ticket = ++latest.current;
    setLoading(true);
    void run(bridge.call('insights', insightsQuery(applied))).then((result) => {
      // A slower answer to older filters must not replace a newer one.
      if (ticket !== latest.current) return;
      setLoading(false);
      if (result) setData(result);
    });
  }, [bridge, run, applied]);

  const nameOf = useCallback((systemId: string) => state.systems.find((s) => s.id === systemId)?.name ?? systemId, [state.systems]);
  // An auditor who is not an admin may not see every system in the catalog: the ones a report named are offered too.
  const [reported, setReported] = useState<string[]>([]);
  useEffect(() => {
    if (data) setReported((before) => [...new Set([...before, ...data.outcomes.map((o) => o.systemId), ...data.series.map((s) => s.systemId)])]);
  }, [data]);
  const systemIds = useMemo(() => [...new Set([...state.systems.map((s) => s.id), ...reported])].sort((a, b) => nameOf(a).localeCompare(nameOf(b))), [state.systems, reported, nameOf]);
  const groups = useMemo(
    () => [...new Set([...state.systems.flatMap((s) => s.policy?.approverGroups ?? []), ...(data?.latency.byApproverGroup.map((g) => g.group) ?? [])])].sort(),
    [state.systems, data],
  );

  const showRows: ShowRows = useCallback(
    (title, evidence) => {
      setRows({ title, evidence, entries: null });
      void run(bridge.call('auditRows', { seqs: evidence.seqs })).then((result) => {
        if (result) setRows((now) => (now?.evidence === evidence ? { ...now, entries: result.entries } : now));
      });
    },
    [bridge, run],
  );
  // Focus moves to the rows once per set opened (not again when they arrive), so a keyboard is taken there.
  const opened = rows?.evidence;
  useEffect(() => {
    if (!opened) return;
    rowsHeading.current?.focus();
    rowsHeading.current?.scrollIntoView?.({ block: 'nearest' });
  }, [opened]);

  const figures = useMemo(() => {
    if (!data) return null;
    return {
      daily: data.series.map((s) => dailyFigure(s, nameOf)),
      outcomes: outcomesFigure(data.outcomes, nameOf),
      latencyBySystem: latencyFigure('latency-system', 'By system', 'System', data.latency.bySystem.map((l) => ({ label: nameOf(l.systemId), latency: l.latency }))),
      latencyByGroup: latencyFigure('latency-group', 'By approver group', 'Approver group', data.latency.byApproverGroup.map((l) => ({ label: l.group, latency: l.latency }))),
      breakGlass: breakGlassFigure(data.breakGlass.uses, periodDays(data)),
      grantUse: grantUseFigure(data.grantUse, nameOf),
      top: data.topRequesters.filter((t) => t.requesters.length > 0).map((t) => topRequestersFigure(t, nameOf)),
    };
  }, [data, nameOf]);

  const set = (key: keyof InsightsFilters) => (event: { target: { value: string } }) => setFilters((f) => ({ ...f, [key]: event.target.value }));

  return (
    <section aria-labelledby="insights-title" className="insights">
      <div className="section-head">
        <h2 id="insights-title">Insights</h2>
        <span className="actions">
          <button type="button" className="secondary" onClick={() => setApplied({ ...applied })}>
            Refresh
          </button>
        </span>
      </div>
      <form
        className="filters"
        aria-label="Filter insights"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied(filters);
        }}
      >
        <label htmlFor={`${id}-from`}>
          <span>From</span>
          <input id={`${id}-from`} type="date" value={filters.from} onChange={set('from')} />
        </label>
        <label htmlFor={`${id}-to`}>
          <span>To (included)</span>
          <input id={`${id}-to`} type="date" value={filters.to} onChange={set('to')} />
        </label>
        <label htmlFor={`${id}-system`}>
          <span>System</span>
          <select id={`${id}-system`} value={filters.system} onChange={set('system')}>
            <option value="">All systems</option>
            {systemIds.map((systemId) => (
              <option key={systemId} value={systemId}>
                {nameOf(systemId)}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-group`}>
          <span>Group</span>
          <input id={`${id}-group`} type="text" list={`${id}-groups`} value={filters.group} onChange={set('group')} placeholder="any group" />
          <datalist id={`${id}-groups`}>
            {groups.map((g) => (
              <option key={g} value={g} />
            ))}
          </datalist>
        </label>
        <button type="submit" className="primary">
          Show
        </button>
      </form>

      {data && <Period data={data} />}
      {rows && (
        <section className="card audit-rows" aria-labelledby={`${id}-rows`}>
          <div className="section-head">
            <h3 id={`${id}-rows`} ref={rowsHeading} tabIndex={-1}>
              Audit rows: {rows.title}
            </h3>
            <button type="button" className="secondary" onClick={() => setRows(null)}>
              Close rows
            </button>
          </div>
          <p className="muted">{rowsSummary(rows.evidence)}, oldest first. Each can be checked against the hash chain (stint-server audit verify).</p>
          {rows.entries === null ? <p aria-busy="true">Loading…</p> : <AuditRows entries={rows.entries} />}
        </section>
      )}

      {!data && loading && <p aria-busy="true">Loading…</p>}
      {data && figures && (
        <div aria-busy={loading}>
          <h3>Requests and grants per day</h3>
          {figures.daily.length === 0 ? (
            <p className="muted">No requests or grants in this period.</p>
          ) : (
            figures.daily.map((f) => <FigureView key={f.id} figure={f} kind="Line chart" onRows={showRows} collapsed />)
          )}

          <h3>What became of the requests</h3>
          <p className="muted">Including the requests denied, and those that expired while nobody reviewed them.</p>
          {figures.outcomes.rows.length === 0 ? <p className="muted">No requests in this period.</p> : <FigureView figure={figures.outcomes} kind="Bar chart" onRows={showRows} />}

          <h3>Approval latency</h3>
          <p className="muted">From a request to its approval by review: the median and the 90th percentile.</p>
          {figures.latencyBySystem.rows.length === 0 ? (
            <p className="muted">Nothing was approved by review in this period.</p>
          ) : (
            <>
              <FigureView figure={figures.latencyBySystem} kind="Bar chart" onRows={showRows} />
              <FigureView figure={figures.latencyByGroup} kind="Bar chart" onRows={showRows} />
            </>
          )}

          <h3>Break-glass uses</h3>
          {data.breakGlass.evidence.count === 0 ? (
            <p className="muted">No break-glass use in this period.</p>
          ) : (
            <>
              <FigureView figure={figures.breakGlass} kind="Bar chart" onRows={showRows} collapsed />
              <BreakGlassList data={data} nameOf={nameOf} onRows={showRows} />
            </>
          )}

          <h3>How grants ended</h3>
          <p className="muted">Released early by their grantee, revoked, run to the deadline, or still active; and the time used of the time granted, over the grants that ended.</p>
          {figures.grantUse.rows.length === 0 ? <p className="muted">No grant began in this period.</p> : <FigureView figure={figures.grantUse} kind="Bar chart" onRows={showRows} />}

          <h3>Top requesters</h3>
          {figures.top.length === 0 ? <p className="muted">No requests in this period.</p> : figures.top.map((f) => <FigureView key={f.id} figure={f} kind="Bar chart" onRows={showRows} />)}

          <h3>Policy suggestions</h3>
          {data.suggestions.length === 0 ? (
            <p className="muted">No suggestion for this period.</p>
          ) : (
            <ul className="rows">
              {data.suggestions.map((s, i) => (
                <li key={i} className="row">
                  <div className="row-main">
                    <strong>{SUGGESTION_TITLES[s.kind]}</strong>
                    {s.systemId && <span className="muted"> · {nameOf(s.systemId)}</span>}
                    <p>
                      <Text value={s.sentence} />
                    </p>
                  </div>
                  <RowsButton evidence={s.evidence} title={`${SUGGESTION_TITLES[s.kind]}${s.systemId ? `, ${nameOf(s.systemId)}` : ''}`} onRows={showRows}>
                    Evidence: {rowsSummary(s.evidence)}
                  </RowsButton>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

function Period({ data }: { data: InsightsResponse }) {
  const { period } = data;
  const read = period.auditRows;
  return (
    <p className="muted">
      {period.from.slice(0, 16).replace('T', ' ')} to {period.to.slice(0, 16).replace('T', ' ')} UTC{period.system ? `, system ${period.system}` : ''}
      {period.group ? `, group ${period.group}` : ''}. Made from {read.read} audit rows
      {read.firstSeq !== null ? ` (${read.firstSeq} to ${read.lastSeq})` : ''}; outcomes followed until {period.followedUntil.slice(0, 16).replace('T', ' ')} UTC.
    </p>
  );
}

/** A number that opens the audit rows behind it; its name says which rows, after the number it shows. */
function RowsButton({ evidence, title, onRows, children }: { evidence: InsightEvidence; title: string; onRows: ShowRows; children: ReactNode }) {
  return (
    <button type="button" className="evidence" onClick={() => onRows(title, evidence)}>
      {children}
      <span className="visually-hidden"> (audit rows: {title})</span>
    </button>
  );
}

/** A chart and its table: the table is the chart's text alternative and holds the rows links. */
function FigureView({ figure, kind, onRows, collapsed = false }: { figure: Figure; kind: string; onRows: ShowRows; collapsed?: boolean }) {
  const captionId = useId();
  const drawn = figure.chart.columns.map((c) => figure.columns[c]).join(', ');
  const pick = (row: number, column: number | null) => {
    const r = figure.rows[row];
    if (!r) return;
    const columns = column === null ? figure.chart.columns : [column];
    const evidence = mergeEvidence(columns.map((c) => r.cells[c]?.evidence ?? null));
    if (evidence.count > 0) onRows(`${columns.map((c) => figure.columns[c]).join(' and ')}, ${figure.title}, ${r.label}`, evidence);
  };
  return (
    <figure className="insight" aria-labelledby={captionId}>
      <figcaption id={captionId}>{figure.title}</figcaption>
      <InsightsChart figure={figure} label={`${kind} of ${drawn} by ${figure.rowHeader}, ${figure.title}. The numbers are in the table that follows.`} onPick={pick} />
      <details open={!collapsed}>
        <summary>Numbers: {figure.title}</summary>
        <table className="history insight-table">
          <thead>
            <tr>
              <th scope="col">{figure.rowHeader}</th>
              {figure.columns.map((c) => (
                <th key={c} scope="col">
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {figure.rows.map((row) => (
              <tr key={row.label}>
                <th scope="row">
                  <Text value={row.label} />
                </th>
                {row.cells.map((cell, j) => (
                  <td key={j}>
                    {cell.evidence && cell.evidence.count > 0 ? (
                      <RowsButton evidence={cell.evidence} title={`${figure.columns[j]}, ${figure.title}, ${row.label}`} onRows={onRows}>
                        {cell.text}
                      </RowsButton>
                    ) : (
                      cell.text
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

function BreakGlassList({ data, nameOf, onRows }: { data: InsightsResponse; nameOf: (id: string) => string; onRows: ShowRows }) {
  const { uses, evidence } = data.breakGlass;
  return (
    <table className="history insight-table">
      <caption>
        Every use{evidence.count > uses.length ? ` (the first ${uses.length} of ${evidence.count})` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">When (UTC)</th>
          <th scope="col">System</th>
          <th scope="col">Requester</th>
          <th scope="col">Reason</th>
          <th scope="col">Duration</th>
          <th scope="col">Audit row</th>
        </tr>
      </thead>
      <tbody>
        {uses.map((use) => (
          <tr key={use.seq}>
            <td>{use.at.slice(0, 16).replace('T', ' ')}</td>
            <td>
              <Text value={nameOf(use.systemId)} />
            </td>
            <td>
              <Text value={use.requester} />
            </td>
            <td>
              <Text value={use.reason ?? ''} />
            </td>
            <td>{use.durationSeconds === null ? '—' : formatDuration(use.durationSeconds)}</td>
            <td>
              <RowsButton evidence={{ count: 1, seqs: [use.seq] }} title={`break-glass by ${use.requester}, ${use.at.slice(0, 16).replace('T', ' ')}`} onRows={onRows}>
                {use.seq}
              </RowsButton>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AuditRows({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p className="muted">None of these rows exists any more.</p>;
  return (
    <table className="history insight-table">
      <thead>
        <tr>
          <th scope="col">Seq</th>
          <th scope="col">When (UTC)</th>
          <th scope="col">Actor</th>
          <th scope="col">Action</th>
          <th scope="col">Target</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.seq}>
            <td>{e.seq}</td>
            <td>{e.at.slice(0, 19).replace('T', ' ')}</td>
            <td>
              <Text value={e.actor} />
            </td>
            <td>{e.action}</td>
            <td>
              {e.targetType} <code className="target-id">{e.targetId}</code>
            </td>
            <td>
              <code className="audit-detail">
                <Text value={JSON.stringify(e.detail)} />
              </code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

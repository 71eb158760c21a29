import { formatDuration } from '@stint/contract';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { barAt, barOffsets, type Figure } from '../insights-figures';

/** One colour per charted column, told apart in light and dark mode alike. */
export const CHART_COLOURS = ['#2f6fde', '#d9622b', '#1f9d55', '#9b51e0', '#d03b3b', '#6b7a8f'];
const GROUP_WIDTH = 0.8;
const HEIGHT = 200;
// Counts are whole: no tick at 0.5 of a request.
const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000];
// Day ticks a day apart at least, then a week, two, a month.
const DAY_STEPS = [1, 2, 7, 14, 30, 61, 91].map((days) => days * 86_400);
// Bars keep to a quarter of the width or less: few categories are spread as if there were four.
const MIN_CATEGORIES = 4;

/**
 * A figure's chart, drawn by uPlot on a canvas: lines over the days of the period, or bars side
 * by side per category. The canvas is an image for assistive technology (its label says so and
 * points to the figure's table, which has every number and its rows link). A click on a bar or a
 * day shows the audit rows behind it, as the table's links do.
 */
export function InsightsChart({ figure, label, onPick }: { figure: Figure; label: string; onPick: (row: number, column: number | null) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const pick = useRef(onPick);
  pick.current = onPick;

  useEffect(() => {
    const element = box.current;
    if (!element || figure.rows.length === 0) return;
    const style = getComputedStyle(element);
    const ink = style.getPropertyValue('--muted').trim() || '#5b6470';
    const grid = style.getPropertyValue('--border').trim() || '#d7dce2';
    const { columns, unit, x } = figure.chart;
    const byDay = x === 'days';
    const xs = figure.rows.map((row, i) => (byDay ? Date.parse(`${row.label}T00:00:00Z`) / 1000 : i));
    const ys = columns.map((c) => figure.rows.map((row) => row.cells[c]?.value ?? null));
    const { offsets, width } = barOffsets(columns.length, GROUP_WIDTH);
    const bars = (k: number) =>
      uPlot.paths.bars!({
        disp: {
          x0: { unit: 1, values: (u) => (u.data[0] as number[]).map((v) => v + offsets[k]!) },
          size: { unit: 1, values: () => [width] },
        },
      });
    const labels = figure.rows.map((r) => r.label);
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: byDay } },
      // Days are UTC days, as the server counts them.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: {
        x: byDay ? { time: true } : { time: false, range: categoryRange(figure.rows.length) },
        y: { range: (_u, _min, max) => [0, Math.max(unit === 'count' ? 1 : 10, max) * 1.1] },
      },
      axes: [
        byDay
          ? { stroke: ink, grid: { show: false }, ticks: { stroke: grid }, space: 48, incrs: DAY_STEPS, values: (_u, splits) => splits.map((s) => new Date(s * 1000).toISOString().slice(5, 10)) }
          : {
              stroke: ink,
              grid: { show: false },
              ticks: { stroke: grid },
              splits: () => labels.map((_, i) => i),
              values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
            },
        {
          stroke: ink,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: unit === 'seconds' ? 70 : 50,
          ...(unit === 'count' ? { incrs: COUNT_STEPS, values: (_u: uPlot, splits: number[]) => splits.map(String) } : { values: (_u: uPlot, splits: number[]) => splits.map((s) => formatDuration(s)) }),
        },
      ],
      series: [
        {},
        ...columns.map((c, k) => ({
          label: figure.columns[c],
          stroke: CHART_COLOURS[k % CHART_COLOURS.length],
          width: byDay ? 2 : 0,
          ...(byDay ? { points: { show: true, size: 6 } } : { fill: CHART_COLOURS[k % CHART_COLOURS.length], paths: bars(k), points: { show: false } }),
        })),
      ],
    };
    const chart = new uPlot(options, [xs, ...ys], element);
    const onClick = () => {
      const { idx, left } = chart.cursor;
      if (idx === null || idx === undefined || left === undefined || left < 0) return;
      if (byDay) return pick.current(idx, null);
      const hit = barAt(chart.posToVal(left, 'x'), figure.rows.length, columns.length, GROUP_WIDTH);
      if (hit) pick.current(hit.row, columns[hit.column]!);
    };
    chart.over.addEventListener('click', onClick);
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(240, element.clientWidth), height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.over.removeEventListener('click', onClick);
      chart.destroy();
    };
  }, [figure]);

  return (
    <div>
      <ul className="chart-legend" aria-hidden="true">
        {figure.chart.columns.map((c, k) => (
          <li key={c}>
            <span className="chart-swatch" style={{ background: CHART_COLOURS[k % CHART_COLOURS.length] }} />
            {figure.columns[c]}
          </li>
        ))}
      </ul>
      <div ref={box} className="chart" role="img" aria-label={label} />
    </div>
  );
}

/** The x range for `n` categories at 0..n-1, centred, never narrower than MIN_CATEGORIES. */
function categoryRange(n: number): [number, number] {
  const pad = Math.max(0, (MIN_CATEGORIES - n) / 2);
  return [-0.5 - pad, n - 0.5 + pad];
}

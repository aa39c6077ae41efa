/**
 * Plain-text tables of bench rows: one table per suite section, timing columns first
 * (median, p99, ±rme of the mean, samples × calls per sample), then the section's metrics.
 */
import type { BenchRow } from './harness.js';

/** A duration in ns as a short label (ns, µs, ms). */
export function formatNs(ns: number): string {
  if (ns < 1000) return `${ns.toFixed(ns < 10 ? 1 : 0)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(ns < 1e4 ? 2 : 1)} µs`;
  return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
}

/** A metric value with about three significant digits; large counts as k / M. */
export function formatMetric(value: number | string | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  const a = Math.abs(value);
  if (a >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (a >= 1e5) return `${(value / 1e3).toFixed(0)}k`;
  if (a >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (a >= 100) return value.toFixed(0);
  if (a >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The metric keys of a section: the fullest row's order, then any others as first seen. */
function metricColumns(rows: readonly BenchRow[]): string[] {
  let fullest: string[] = [];
  for (const r of rows) {
    const keys = Object.keys(r.metrics);
    if (keys.length > fullest.length) fullest = keys;
  }
  const columns = [...fullest];
  for (const r of rows) for (const k of Object.keys(r.metrics)) if (!columns.includes(k)) columns.push(k);
  return columns;
}

/** Renders cells as left-aligned first column, right-aligned others. */
function render(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** One section of one suite as a table. */
export function sectionTable(rows: readonly BenchRow[]): string {
  const timed = rows.some((r) => r.stats !== undefined);
  const metrics = metricColumns(rows);
  const header = ['case', ...(timed ? ['median', 'p99', '±rme', 'samples'] : []), ...metrics];
  const body = rows.map((r) => {
    const s = r.stats;
    const timing = !timed ? [] : s === undefined ? ['', '', '', ''] : [formatNs(s.p50Ns), formatNs(s.p99Ns), `${s.rmePct.toFixed(1)}%`, `${s.samples}×${s.callsPerSample}`];
    return [r.name, ...timing, ...metrics.map((k) => formatMetric(r.metrics[k]))];
  });
  return render(header, body);
}

/** All rows as tables, grouped by suite and section in the order they first appear. */
export function formatTables(rows: readonly BenchRow[]): string {
  const groups = new Map<string, BenchRow[]>();
  for (const r of rows) {
    const key = `${r.suite} — ${r.section}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups].map(([title, list]) => `${title}\n${sectionTable(list)}`).join('\n\n');
}

/**
 * Human output of the `seglog` commands: aligned tables, byte and rate figures, timestamps, and
 * a progress bar drawn on standard error only when it is a terminal (a pipe or a file gets no
 * control characters, so scripted output stays clean).
 */

/** Column alignment of {@link formatTable}. */
export type Align = 'left' | 'right';

/**
 * An aligned text table: a header row, a rule, then the rows. Columns are separated by two
 * spaces; `align` gives each column's alignment (default: left for the first, right for the rest).
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly Align[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const alignOf = (i: number): Align => align?.[i] ?? (i === 0 ? 'left' : 'right');
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (alignOf(i) === 'left' ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes as a short figure with a binary unit: `512 B`, `1.5 KiB`, `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** A count with thousands separators: `1,000,000`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Milliseconds as `850 ms` or `12.3 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** An epoch-ms timestamp as ISO 8601 UTC, or `-` when there is none (negative). */
export function formatTimestamp(ms: number | null): string {
  if (ms === null || ms < 0 || !Number.isFinite(ms)) return '-';
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Minimum time between two redraws of a progress bar: 10 per second is smooth and cheap. */
const REDRAW_INTERVAL_MS = 100;
/** Width of the bar itself, in characters. */
const BAR_WIDTH = 30;

/**
 * A one-line progress bar on standard error, redrawn in place with `\r` at most every
 * {@link REDRAW_INTERVAL_MS}. Disabled (every call a no-op) unless standard error is a TTY.
 */
export class ProgressBar {
  private readonly write: (text: string) => void;
  private readonly enabled: boolean;
  private readonly label: string;
  private total: number;
  private done = 0;
  private lastDraw = 0;
  private drawn = false;

  /**
   * @param write - writes to standard error
   * @param enabled - whether standard error is a terminal
   * @param label - shown before the bar
   * @param total - the amount that makes 100% (bytes, items)
   */
  constructor(write: (text: string) => void, enabled: boolean, label: string, total: number) {
    this.write = write;
    this.enabled = enabled;
    this.label = label;
    this.total = total;
  }

  /** Sets the progress to `done` (of `total`, which may be updated) with a note after the bar. */
  update(done: number, note = '', total = this.total): void {
    this.done = done;
    this.total = total;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < REDRAW_INTERVAL_MS && done < total) return;
    this.lastDraw = now;
    const share = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(share * BAR_WIDTH);
    const text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${note}`;
    const columns = process.stderr.columns ?? 100;
    this.write(`\r${text.slice(0, Math.max(20, columns - 1)).padEnd(Math.max(20, columns - 1))}`);
    this.drawn = true;
  }

  /** Adds `n` to the progress. */
  advance(n: number, note = ''): void {
    this.update(this.done + n, note);
  }

  /** Erases the bar (so the summary that follows starts on a clean line). */
  finish(): void {
    if (!this.enabled || !this.drawn) return;
    const columns = process.stderr.columns ?? 100;
    this.write(`\r${' '.repeat(Math.max(20, columns - 1))}\r`);
    this.drawn = false;
  }
}

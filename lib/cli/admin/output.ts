/**
 * What a command prints: a Report holds both forms, the text for people (tables with aligned
 * columns, short confirmations) and the value that `--json` prints instead, for scripts.
 * Secrets never reach either: there is no field for a password hash.
 */

export interface Report {
  /** Printed with `--json`, as pretty JSON */
  readonly json: unknown;
  /** Printed otherwise; a trailing newline is added if missing */
  readonly text: string;
}

export function render(report: Report, json: boolean): string {
  if (json) return `${JSON.stringify(report.json, null, 2)}\n`;
  if (report.text === '') return '';
  return report.text.endsWith('\n') ? report.text : `${report.text}\n`;
}

/** A table with a header row, columns padded to their widest cell; `empty` if there are no rows. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): string {
  if (rows.length === 0) return empty;
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Epoch ms as ISO 8601 (UTC, seconds). */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration in seconds as `42s`, `5m`, `3h`, `12d`. */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `a, b` or `-` for none. */
export function listOrDash(items: readonly string[]): string {
  return items.length === 0 ? '-' : items.join(', ');
}

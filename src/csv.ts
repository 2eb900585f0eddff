/** RFC 4180 CSV: comma-separated, CRLF-free (`\n` lines), quoted only where needed. */

export type CsvValue = string | number | boolean | null | undefined;

/**
 * One field: empty for null/undefined and non-finite numbers, numbers in full precision
 * (`String(n)`), booleans as `true`/`false`; a string is quoted when it holds a comma, a quote, a
 * line break or leading/trailing spaces, with its quotes doubled.
 */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A header line and one line per row, each ending in `\n`. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  const lines = [header.map(csvField).join(',')];
  for (const row of rows) {
    if (row.length !== header.length)
      throw new Error(`CSV row has ${row.length} fields, the header ${header.length}`);
    lines.push(row.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The filters table, the same in `/export/probes/:id/filters.csv` and in reproduce's report. */
export const FILTER_COLUMNS = [
  'layer',
  'index',
  'scale',
  'silent',
  'preferredLabel',
  'preferredLabelName',
  'preference',
  'clusters',
  'clusterLabels',
  'signal',
  'noise',
  'snr',
  'noiseFree',
  'ablation',
] as const;

/** Clusters as `a+b | c` (names or indices). */
export const clusterText = (clusters: readonly (readonly (string | number)[])[]): string =>
  clusters.map((c) => c.join('+')).join(' | ');

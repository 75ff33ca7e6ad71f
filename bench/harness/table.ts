import { type Figure, meetsTarget } from './benchmark.ts';

export interface TableRow {
  benchmark: string;
  figure: Figure;
}

const headers = ['benchmark', 'figure', 'value', 'baseline', 'ratio', 'target', 'met?'];

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cells(row: TableRow): string[] {
  const { figure } = row;
  const met = meetsTarget(figure);
  return [
    row.benchmark,
    figure.metric,
    `${formatNumber(figure.value)} ${figure.unit}`,
    figure.baseline === undefined ? '' : `${formatNumber(figure.baseline)} ${figure.baselineUnit ?? figure.unit}`,
    figure.ratio === undefined ? '' : `${formatNumber(figure.ratio)}×`,
    figure.target?.text ?? '',
    met === undefined ? '' : met ? 'yes' : 'NO',
  ];
}

/** A plain-text table for the terminal. */
export function textTable(rows: TableRow[]): string {
  const body = rows.map(cells);
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The same table in Markdown, for the README. */
export function markdownTable(rows: TableRow[]): string {
  const escape = (c: string) => c.replaceAll('|', '\\|');
  const line = (r: string[]) => `| ${r.map(escape).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map((r) => line(cells(r)))].join('\n');
}

/** Display helpers shared by the pages. */

/** Every digit the API gives (`$0.0025686`), never rounded; at least two decimals (`$0.50`). */
export function formatCost(cost: string | null | undefined): string {
  if (cost === null || cost === undefined) return '—';
  if (cost.startsWith('-')) return `−${formatCost(cost.slice(1))}`;
  const [whole = '0', fraction = ''] = cost.split('.');
  return `$${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** A run's or step's cost: null with no tokens spent is nothing spent (`$0.00`); null after tokens is an unpriced model (`—`). */
export function formatSpend(cost: string | null | undefined, usage: { inputTokens: number; outputTokens: number }): string {
  if ((cost === null || cost === undefined) && usage.inputTokens === 0 && usage.outputTokens === 0) return '$0.00';
  return formatCost(cost);
}

export function formatTokens(usage: { inputTokens: number; outputTokens: number }): string {
  return `${usage.inputTokens.toLocaleString('en-US')} in · ${usage.outputTokens.toLocaleString('en-US')} out`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export function durationBetween(start: string | undefined | null, end: string | undefined | null): number | null {
  if (!start || !end) return null;
  return new Date(end).getTime() - new Date(start).getTime();
}

/** A run input or output as text: strings as they are, anything else as JSON. */
export function asText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

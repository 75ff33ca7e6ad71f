import type { UsageJson } from '@conveyor/core';


/**
 * `$0.0025686` as the API gives it. The API has no cost (null) both for a run or step that has not
 * spent anything yet and for an unpriced model: with the usage at hand, no tokens means `$0`.
 */
export const formatCost = (cost: unknown, usage?: unknown): string => {
  if (typeof cost === 'string' && cost !== '') return `$${cost}`;
  if (usage !== undefined && spentNoTokens(usage)) return '$0';
  return 'cost unknown';
};

const spentNoTokens = (usage: unknown): boolean => {
  const { inputTokens = 0, outputTokens = 0 } = (usage ?? {}) as Partial<UsageJson>;
  return inputTokens === 0 && outputTokens === 0;
};

export const formatUsage = (usage: unknown): string => {
  const { inputTokens = 0, outputTokens = 0 } = (usage ?? {}) as Partial<UsageJson>;
  return `${inputTokens} in + ${outputTokens} out tokens`;
};

/** A fixed-width text table; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Model output is text; anything else is shown as indented JSON. */
export const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

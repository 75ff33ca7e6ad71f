import { jsonOption, parseCommand } from '../args.ts';
import type { CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatCost, table } from '../format.ts';
// Types only: the CLI talks HTTP, the shape of `GET /v1/spend` is core's.
import type { SpendTotals } from '@conveyor/core';

interface SpendJson {
  from: string;
  to: string;
  groupBy: string[];
  total: SpendTotals;
  groups: Array<SpendTotals & { day?: string; pipelineId?: string; pipelineName?: string | null; provider?: string | null; model?: string | null }>;
}

const dayMs = 86_400_000;

/** `--days N`: the last N UTC days, today's included. */
export function lastDays(days: number, now = new Date()): { from: string; to: string } {
  const to = Math.floor(now.getTime() / dayMs) * dayMs + dayMs;
  return { from: new Date(to - days * dayMs).toISOString(), to: new Date(to).toISOString() };
}

const label = (group: SpendJson['groups'][number]) =>
  [group.day, group.pipelineName ?? group.pipelineId, group.model ? `${group.provider ?? '?'}:${group.model}` : group.provider].filter((part) => part !== undefined && part !== null).join('  ');

export const spend: CommandGroup = {
  summary: 'cost and tokens over time',
  usage: `conveyor spend [--days <n> | --from <iso> --to <iso>] [--by day|pipeline|model|provider] [--json]
                                            default: the last 30 UTC days, by day`,
  commands: {},
  async run(args, { client, stdout }) {
    const { values } = parseCommand('spend', args, { ...jsonOption, days: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, by: { type: 'string' } });
    if (values.days !== undefined && (values.from !== undefined || values.to !== undefined)) throw new UsageError('spend: give --days or --from/--to, not both');
    let range: { from: string; to: string };
    if (values.from !== undefined || values.to !== undefined) {
      if (values.from === undefined || values.to === undefined) throw new UsageError('spend: --from and --to go together');
      range = { from: values.from, to: values.to };
    } else {
      const days = Number(values.days ?? 30);
      if (!Number.isInteger(days) || days < 1 || days > 3660) throw new UsageError('spend: --days takes a whole number of days (1-3660)');
      range = lastDays(days);
    }
    const report = await client.get<SpendJson>('/v1/spend', { ...range, groupBy: values.by ?? 'day' });
    if (values.json) return (printJson(stdout, report), 0);
    const rows = report.groups.map((g) => [label(g), formatCost(g.cost), String(g.inputTokens), String(g.outputTokens), String(g.modelCalls)]);
    rows.push(['total', formatCost(report.total.cost), String(report.total.inputTokens), String(report.total.outputTokens), String(report.total.modelCalls)]);
    stdout.write(`spend ${report.from} – ${report.to} (to exclusive), by ${report.groupBy.join(', ')}\n`);
    stdout.write(`${table([report.groupBy.join(' / ').toUpperCase(), 'COST (USD)', 'INPUT', 'OUTPUT', 'CALLS'], rows)}\n`);
    if (report.total.unpricedModelCalls > 0) stdout.write(`${report.total.unpricedModelCalls} call(s) used models without a known price: tokens counted, cost not\n`);
    return 0;
  },
};

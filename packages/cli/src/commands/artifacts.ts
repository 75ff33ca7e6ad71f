import { jsonOption, parseCommand } from '../args.ts';
import type { ApiClient } from '../client.ts';
import type { CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import type { ArtifactJson } from '@conveyor/core';
import { asText, formatCost, formatUsage, table } from '../format.ts';

/** The wire shape of `GET /v1/artifacts/:id` (types only: the CLI talks HTTP). */
export type { ArtifactJson };


interface ArtifactStep {
  index?: number;
  provider?: string | null;
  model?: string | null;
  output?: unknown;
  usage?: unknown;
  cost?: string | null;
}

/** The payload the worker writes: `{output, input, steps: [...]}`. */
export function artifactContent(artifact: ArtifactJson): { output: unknown; steps: ArtifactStep[] } {
  const data = (artifact.data && typeof artifact.data === 'object' ? artifact.data : {}) as { output?: unknown; steps?: unknown };
  return { output: data.output, steps: Array.isArray(data.steps) ? (data.steps as ArtifactStep[]) : [] };
}

const getArtifact = (client: ApiClient, id: string) =>
  client.get<ArtifactJson>(`/v1/artifacts/${encodeURIComponent(id)}`);

export const artifacts: CommandGroup = {
  summary: 'list artifacts, show one, print its output',
  usage: `conveyor artifacts list [--pipeline <pipelineId>] [--limit <n>] [--json]
conveyor artifacts show <artifactId> [--json]
conveyor artifacts output <artifactId>      prints the final output only`,
  commands: {
    async list(args, { client, stdout }) {
      const { values } = parseCommand('artifacts list', args, { ...jsonOption, pipeline: { type: 'string' }, limit: { type: 'string' } });
      const page = await client.get<{ data: ArtifactJson[] }>('/v1/artifacts', { pipelineId: values.pipeline, limit: values.limit });
      if (values.json) return (printJson(stdout, page.data), 0);
      if (page.data.length === 0) return (stdout.write('no artifacts\n'), 0);
      const rows = page.data.map((a) => [a.id, a.pipelineName, formatCost(a.cost, a.usage), formatUsage(a.usage), a.createdAt]);
      stdout.write(`${table(['ID', 'PIPELINE', 'COST', 'TOKENS', 'CREATED'], rows)}\n`);
      return 0;
    },

    async show(args, { client, stdout }) {
      const { values, positionals } = parseCommand('artifacts show', args, jsonOption, ['artifactId']);
      const artifact = await getArtifact(client, positionals[0]!);
      if (values.json) return (printJson(stdout, artifact), 0);
      const { output, steps } = artifactContent(artifact);
      stdout.write(`artifact ${artifact.id}  run ${artifact.runId}  pipeline ${artifact.pipelineName} (${artifact.pipelineId})\n`);
      stdout.write(`cost ${formatCost(artifact.cost, artifact.usage)} ${artifact.currency} · ${formatUsage(artifact.usage)} · models ${artifact.models.join(', ')} · ${artifact.durationMs} ms\n`);
      for (const [position, step] of steps.entries()) {
        const model = [step.provider, step.model].filter(Boolean).join(':');
        stdout.write(`\nstep ${(step.index ?? position) + 1} · ${model} · ${formatUsage(step.usage)} · ${formatCost(step.cost, step.usage)}\n${asText(step.output ?? '')}\n`);
      }
      stdout.write(`\nfinal output:\n${asText(output ?? '')}\n`);
      return 0;
    },

    async output(args, { client, stdout }) {
      const { positionals } = parseCommand('artifacts output', args, {}, ['artifactId']);
      const { output } = artifactContent(await getArtifact(client, positionals[0]!));
      const text = asText(output ?? '');
      stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      return 0;
    },
  },
};

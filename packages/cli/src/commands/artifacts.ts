import { jsonOption, parseCommand } from '../args.ts';
import type { ApiClient } from '../client.ts';
import type { CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import type { ArtifactJson, ArtifactVersionJson } from '@conveyor/core';
import { UsageError } from '../errors.ts';
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
  summary: 'list artifacts, show one, print its output, edit it',
  usage: `conveyor artifacts list [--pipeline <pipelineId>] [--limit <n>] [--json]
conveyor artifacts show <artifactId> [--json]
conveyor artifacts output <artifactId>      prints the final output only
conveyor artifacts edit <artifactId> (--output <text> | --output-json <json>) [--json]
                                            stores a new version with this final output
conveyor artifacts versions <artifactId> [--json]`,
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
      stdout.write(`artifact ${artifact.id}  version ${artifact.version}  run ${artifact.runId}  pipeline ${artifact.pipelineName} (${artifact.pipelineId})\n`);
      stdout.write(`cost ${formatCost(artifact.cost, artifact.usage)} ${artifact.currency} · ${formatUsage(artifact.usage)} · models ${artifact.models.join(', ')} · ${artifact.durationMs} ms\n`);
      for (const [position, step] of steps.entries()) {
        const model = [step.provider, step.model].filter(Boolean).join(':');
        stdout.write(`\nstep ${(step.index ?? position) + 1} · ${model} · ${formatUsage(step.usage)} · ${formatCost(step.cost, step.usage)}\n${asText(step.output ?? '')}\n`);
      }
      stdout.write(`\nfinal output:\n${asText(output ?? '')}\n`);
      return 0;
    },

    async edit(args, { client, stdout }) {
      const { values, positionals } = parseCommand(
        'artifacts edit',
        args,
        { ...jsonOption, output: { type: 'string' }, 'output-json': { type: 'string' } },
        ['artifactId'],
      );
      const output = editedOutput(values.output, values['output-json']);
      const current = await getArtifact(client, positionals[0]!);
      const data = current.data && typeof current.data === 'object' && !Array.isArray(current.data) ? current.data : {};
      const artifact = await client.patch<ArtifactJson>(`/v1/artifacts/${encodeURIComponent(current.id)}`, { data: { ...data, output } });
      if (values.json) return (printJson(stdout, artifact), 0);
      stdout.write(`artifact ${artifact.id} version ${artifact.version}\n`);
      return 0;
    },

    async versions(args, { client, stdout }) {
      const { values, positionals } = parseCommand('artifacts versions', args, jsonOption, ['artifactId']);
      const { data } = await client.get<{ data: ArtifactVersionJson[] }>(`/v1/artifacts/${encodeURIComponent(positionals[0]!)}/versions`);
      if (values.json) return (printJson(stdout, data), 0);
      const rows = data.map((v) => {
        const text = asText(artifactContent({ data: v.data } as ArtifactJson).output ?? '').replace(/\s+/g, ' ');
        return [String(v.version), v.source, v.createdAt, text.length > 60 ? `${text.slice(0, 59)}…` : text];
      });
      stdout.write(`${table(['VERSION', 'BY', 'CREATED', 'FINAL OUTPUT'], rows)}\n`);
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

function editedOutput(text: string | undefined, json: string | undefined): unknown {
  if (text !== undefined && json !== undefined) throw new UsageError('artifacts edit: give --output or --output-json, not both');
  if (text !== undefined) return text;
  if (json === undefined) throw new UsageError('artifacts edit: --output <text> or --output-json <json> is required');
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new UsageError(`artifacts edit: --output-json is not valid JSON: ${(error as Error).message}`);
  }
}

import { jsonOption, parseCommand, requireOption } from '../args.ts';
import type { ApiClient } from '../client.ts';
import type { CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import { readDefinitions } from '../definition-file.ts';
import { CliError, DefinitionFileError, ExitCode } from '../errors.ts';
import { table } from '../format.ts';
import type { AgentJson } from './agents.ts';

export interface PipelineJson {
  id: string;
  name: string;
  steps: { index: number; type?: 'agent' | 'approval'; agentId: string | null; prompt: string | null; instructions?: string; timeoutSeconds?: number; onTimeout?: string }[];
  webhookUrl: string | null;
  maxDurationSeconds: number | null;
  maxCostUsd: string | null;
  orphaned: boolean;
  missingAgentIds: string[];
  createdAt: string;
}

export const pipelines: CommandGroup = {
  summary: 'create, list and show pipelines',
  usage: `conveyor pipelines create -f <pipeline.yaml|pipeline.json|-> [--json]
    a step names its agent by id (agentId) or by unique name (agent), or is {type: approval, instructions?, timeoutSeconds?, onTimeout?}
conveyor pipelines list [--json]
conveyor pipelines show <pipelineId> [--json]`,
  commands: {
    async create(args, { client, stdout }) {
      const { values } = parseCommand('pipelines create', args, { ...jsonOption, file: { type: 'string', short: 'f' } });
      const path = requireOption('pipelines create', values.file, '-f <file>');
      const definitions = await readDefinitions(path);
      const created: PipelineJson[] = [];
      for (const definition of definitions) {
        const body = await withAgentIds(client, definition, path);
        const pipeline = await client.post<PipelineJson>('/v1/pipelines', body);
        created.push(pipeline);
        if (!values.json) stdout.write(`created pipeline ${pipeline.id}  ${pipeline.name} (${pipeline.steps.length} steps)\n`);
      }
      if (values.json) printJson(stdout, created.length === 1 ? created[0] : created);
      return 0;
    },

    async list(args, { client, stdout }) {
      const { values } = parseCommand('pipelines list', args, jsonOption);
      const list = await client.all<PipelineJson>('/v1/pipelines');
      if (values.json) return (printJson(stdout, list), 0);
      if (list.length === 0) return (stdout.write('no pipelines yet: conveyor pipelines create -f pipeline.yaml\n'), 0);
      const rows = list.map((p) => [p.id, p.name, String(p.steps.length), p.orphaned ? 'orphaned' : 'ok', p.webhookUrl ?? '-']);
      stdout.write(`${table(['ID', 'NAME', 'STEPS', 'AGENTS', 'WEBHOOK'], rows)}\n`);
      return 0;
    },

    async show(args, { client, stdout }) {
      const { values, positionals } = parseCommand('pipelines show', args, jsonOption, ['pipelineId']);
      const pipeline = await client.get<PipelineJson>(`/v1/pipelines/${encodeURIComponent(positionals[0]!)}`);
      if (values.json) return (printJson(stdout, pipeline), 0);
      stdout.write(`${pipeline.id}  ${pipeline.name}\n`);
      if (pipeline.webhookUrl) stdout.write(`webhook  ${pipeline.webhookUrl}\n`);
      if (pipeline.maxCostUsd !== null) stdout.write(`budget   $${pipeline.maxCostUsd} per run\n`);
      if (pipeline.orphaned) stdout.write(`orphaned: missing agents ${pipeline.missingAgentIds.join(', ')}\n`);
      for (const step of pipeline.steps) {
        if (step.type === 'approval') {
          const timeout = step.timeoutSeconds ? `  after ${step.timeoutSeconds} s: ${step.onTimeout ?? 'reject'}` : '';
          stdout.write(`step ${step.index + 1}  approval${step.instructions ? `  instructions: ${step.instructions}` : ''}${timeout}\n`);
          continue;
        }
        stdout.write(`step ${step.index + 1}  agent ${step.agentId}${step.prompt ? `  prompt: ${step.prompt}` : ''}\n`);
      }
      return 0;
    },
  },
};

/** Replaces each step's `agent: <name>` with the `agentId` of the one agent of that name. */
async function withAgentIds(client: ApiClient, definition: Record<string, unknown>, path: string): Promise<Record<string, unknown>> {
  const steps = definition.steps;
  if (!Array.isArray(steps) || !steps.some((step) => step && typeof step === 'object' && 'agent' in step)) return definition;

  const known = await client.all<AgentJson>('/v1/agents');
  const resolved = steps.map((step: unknown, position) => {
    if (!step || typeof step !== 'object' || !('agent' in step)) return step;
    const { agent: name, ...rest } = step as Record<string, unknown>;
    if (typeof name !== 'string') throw new DefinitionFileError(path, `step ${position + 1}: agent must be an agent name`);
    const matches = known.filter((agent) => agent.name === name);
    if (matches.length === 0) throw new CliError(`${path}: step ${position + 1}: no agent named '${name}'`, ExitCode.notFound);
    if (matches.length > 1) throw new DefinitionFileError(path, `step ${position + 1}: ${matches.length} agents are named '${name}'; use agentId`);
    return { ...rest, agentId: matches[0]!.id };
  });
  return { ...definition, steps: resolved };
}

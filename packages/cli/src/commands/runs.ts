import { jsonOption, parseCommand } from '../args.ts';
import type { CommandContext, CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { followRun } from '../follow.ts';
import type { RunJson } from '@conveyor/core';
import type { ApiClient } from '../client.ts';
import { ApiError } from '../errors.ts';
import { asText, formatCost, formatUsage, table } from '../format.ts';

export const runs: CommandGroup = {
  summary: 'submit, follow, show and list runs',
  usage: `conveyor runs submit <pipelineId> (--input <text> | --input-json <json>) [--follow]
                     [--webhook-url <url>] [--idempotency-key <key>] [--max-cost-usd <usd>]
                     [--at <ISO time> | --delay <seconds>] [--json]
conveyor runs follow <runId> [--json]
conveyor runs show <runId> [--json]
conveyor runs cancel <runId> [--json]
conveyor runs approve <runId> [--comment <text>] [--output <text> | --output-json <json>] [--json]
conveyor runs reject <runId> [--comment <text>] [--json]
conveyor runs branch <runId> --from-step <n> [--output <text> | --output-json <json>]
                     [--input <text> | --input-json <json>] [--model <index>=<model>]... [--follow] [--json]
conveyor runs list [--pipeline <pipelineId>] [--status <status>] [--limit <n>] [--json]`,
  commands: {
    async submit(args, context) {
      const { values, positionals } = parseCommand(
        'runs submit',
        args,
        {
          ...jsonOption,
          input: { type: 'string' },
          'input-json': { type: 'string' },
          follow: { type: 'boolean' },
          'webhook-url': { type: 'string' },
          'idempotency-key': { type: 'string' },
          at: { type: 'string' },
          delay: { type: 'string' },
          'max-cost-usd': { type: 'string' },
        },
        ['pipelineId'],
      );
      const body: Record<string, unknown> = { input: runInput(values.input, values['input-json']), ...runStart(values.at, values.delay) };
      if (values['webhook-url']) body.webhookUrl = values['webhook-url'];
      if (values['max-cost-usd'] !== undefined) body.maxCostUsd = values['max-cost-usd'];
      const headers = values['idempotency-key'] ? { 'idempotency-key': values['idempotency-key'] } : undefined;
      const run = await context.client.post<RunJson>(`/v1/pipelines/${encodeURIComponent(positionals[0]!)}/runs`, body, headers);

      const due = run.scheduledFor ? ` (scheduled for ${run.scheduledFor})` : '';
      if (!values.follow) {
        if (values.json) printJson(context.stdout, run);
        else context.stdout.write(`run ${run.id} ${run.status}${due}\n`);
        return 0;
      }
      if (!values.json) context.stdout.write(`run ${run.id} ${run.status}${due}\n`);
      return follow(run.id, Boolean(values.json), context);
    },

    async follow(args, context) {
      const { values, positionals } = parseCommand('runs follow', args, jsonOption, ['runId']);
      return follow(positionals[0]!, Boolean(values.json), context);
    },

    async show(args, { client, stdout }) {
      const { values, positionals } = parseCommand('runs show', args, jsonOption, ['runId']);
      const run = await client.get<RunJson>(`/v1/runs/${encodeURIComponent(positionals[0]!)}`);
      if (values.json) return (printJson(stdout, run), 0);
      stdout.write(`run ${run.id}  ${run.status}  pipeline ${run.pipelineId}  created ${run.createdAt}\n`);
      if (run.scheduledFor) stdout.write(`scheduled for ${run.scheduledFor}\n`);
      if (run.parentRunId) stdout.write(`branch of ${run.parentRunId} from step ${(run.branchedFromStep ?? 0) + 1}\n`);
      if (run.waiting) stdout.write(`waiting at step ${run.waiting.index + 1} since ${run.waiting.since}: conveyor runs approve|reject ${run.id}\n`);
      if (run.maxCostUsd !== null) stdout.write(`budget $${run.maxCostUsd}\n`);
      for (const step of run.steps) {
        const model = step.type === 'approval' ? 'approval' : step.model ? `${step.provider}:${step.model}` : step.agentId;
        stdout.write(`  step ${step.index + 1}  ${step.status.padEnd(9)} ${model} · ${formatUsage(step.usage)} · ${formatCost(step.cost, step.usage)}\n`);
        for (const failed of step.failedAttempts) stdout.write(`    failed: ${failed.provider}:${failed.model} (${failed.kind}) ${failed.message}\n`);
        for (const warning of step.warnings) stdout.write(`    warning: ${warning}\n`);
        if (step.decision) stdout.write(`    ${step.decision.decision} by ${step.decision.by} at ${step.decision.at}${step.decision.comment ? `: ${step.decision.comment}` : ''}\n`);
        if (step.reused) stdout.write('    reused from the parent run\n');
      }
      stdout.write(`total ${formatUsage(run.usage)} · ${formatCost(run.cost, run.usage)}\n`);
      if (run.error) stdout.write(`error ${run.error.code}: ${run.error.message}\n`);
      if (run.artifactId) stdout.write(`artifact ${run.artifactId}\n`);
      if (run.output !== undefined) stdout.write(`output:\n${asText(run.output)}\n`);
      return 0;
    },

    async list(args, { client, stdout }) {
      const { values } = parseCommand('runs list', args, {
        ...jsonOption,
        pipeline: { type: 'string' },
        status: { type: 'string' },
        limit: { type: 'string' },
      });
      const page = await client.get<{ data: RunJson[] }>('/v1/runs', {
        pipelineId: values.pipeline,
        status: values.status,
        limit: values.limit,
      });
      if (values.json) return (printJson(stdout, page.data), 0);
      if (page.data.length === 0) return (stdout.write('no runs\n'), 0);
      const names = await pipelineNames(client, page.data.map((r) => r.pipelineId));
      const rows = page.data.map((r) => [r.id, r.status, names.get(r.pipelineId) ?? r.pipelineId, formatCost(r.cost, r.usage), r.createdAt]);
      stdout.write(`${table(['ID', 'STATUS', 'PIPELINE', 'COST', 'CREATED'], rows)}\n`);
      return 0;
    },

    async approve(args, { client, stdout }) {
      const { values, positionals } = parseCommand(
        'runs approve',
        args,
        { ...jsonOption, comment: { type: 'string' }, output: { type: 'string' }, 'output-json': { type: 'string' } },
        ['runId'],
      );
      const body: Record<string, unknown> = {};
      if (values.comment !== undefined) body.comment = values.comment;
      const output = optionalJson('runs approve', 'output', values.output, values['output-json']);
      if (output !== undefined) body.output = output;
      const run = await client.post<RunJson>(`/v1/runs/${encodeURIComponent(positionals[0]!)}/approve`, body);
      if (values.json) return (printJson(stdout, run), 0);
      stdout.write(`run ${run.id} approved: ${run.status}\n`);
      return 0;
    },

    async reject(args, { client, stdout }) {
      const { values, positionals } = parseCommand('runs reject', args, { ...jsonOption, comment: { type: 'string' } }, ['runId']);
      const run = await client.post<RunJson>(
        `/v1/runs/${encodeURIComponent(positionals[0]!)}/reject`,
        values.comment !== undefined ? { comment: values.comment } : {},
      );
      if (values.json) return (printJson(stdout, run), 0);
      stdout.write(`run ${run.id} rejected: ${run.status}\n`);
      return 0;
    },

    async branch(args, context) {
      const { values, positionals } = parseCommand(
        'runs branch',
        args,
        {
          ...jsonOption,
          'from-step': { type: 'string' },
          output: { type: 'string' },
          'output-json': { type: 'string' },
          input: { type: 'string' },
          'input-json': { type: 'string' },
          model: { type: 'string', multiple: true },
          follow: { type: 'boolean' },
        },
        ['runId'],
      );
      const fromStep = Number(values['from-step']);
      if (values['from-step'] === undefined || !Number.isInteger(fromStep) || fromStep < 0) {
        throw new UsageError('runs branch: --from-step <n> (the 0-based index of the first step that differs) is required');
      }
      const body: Record<string, unknown> = { fromStep };
      const output = optionalJson('runs branch', 'output', values.output, values['output-json']);
      if (output !== undefined) body.output = output;
      const input = optionalJson('runs branch', 'input', values.input, values['input-json']);
      if (input !== undefined) body.input = input;
      const overrides: Record<string, { model: string }> = {};
      for (const entry of values.model ?? []) {
        const match = /^(\d+)=(.+)$/.exec(entry);
        if (!match) throw new UsageError(`runs branch: --model takes <index>=<model>, got "${entry}"`);
        overrides[match[1]!] = { model: match[2]! };
      }
      if (Object.keys(overrides).length > 0) body.overrides = overrides;
      const run = await context.client.post<RunJson>(`/v1/runs/${encodeURIComponent(positionals[0]!)}/branch`, body);
      if (!values.follow) {
        if (values.json) printJson(context.stdout, run);
        else context.stdout.write(`run ${run.id} ${run.status} (branch of ${run.parentRunId} from step ${fromStep})\n`);
        return 0;
      }
      if (!values.json) context.stdout.write(`run ${run.id} ${run.status} (branch of ${run.parentRunId} from step ${fromStep})\n`);
      return follow(run.id, Boolean(values.json), context);
    },

    async cancel(args, { client, stdout }) {
      const { values, positionals } = parseCommand('runs cancel', args, jsonOption, ['runId']);
      const run = await client.post<RunJson>(`/v1/runs/${encodeURIComponent(positionals[0]!)}/cancel`, {});
      if (values.json) return (printJson(stdout, run), 0);
      stdout.write(
        run.status === 'canceled' ? `run ${run.id} canceled\n` : `run ${run.id} ${run.status}: cancel requested, it stops after the call in flight\n`,
      );
      return 0;
    },
  },
};

/** Pipeline names by id; a pipeline deleted since keeps its id. */
async function pipelineNames(client: ApiClient, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const names = await Promise.all(
    unique.map((id) =>
      client.get<{ name: string }>(`/v1/pipelines/${encodeURIComponent(id)}`).then(
        (pipeline) => pipeline.name,
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 404) return undefined;
          throw error;
        },
      ),
    ),
  );
  return new Map(unique.flatMap((id, i) => (names[i] === undefined ? [] : [[id, names[i]] as [string, string]])));
}

/** `runAt` or `delaySeconds` of a delayed run (the API checks the values). */
function runStart(at: string | undefined, delay: string | undefined): { runAt?: string; delaySeconds?: number } {
  if (at !== undefined && delay !== undefined) throw new UsageError('runs submit: give --at or --delay, not both');
  if (at !== undefined) return { runAt: at };
  if (delay === undefined) return {};
  if (!/^\d+$/.test(delay)) throw new UsageError('runs submit: --delay takes a whole number of seconds');
  return { delaySeconds: Number(delay) };
}

function runInput(text: string | undefined, json: string | undefined): unknown {
  if (text !== undefined && json !== undefined) throw new UsageError('runs submit: give --input or --input-json, not both');
  if (text !== undefined) return text;
  if (json === undefined) throw new UsageError('runs submit: --input <text> or --input-json <json> is required');
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new UsageError(`runs submit: --input-json is not valid JSON: ${(error as Error).message}`);
  }
}

/** `--x <text>` or `--x-json <json>` (at most one); undefined without either. */
function optionalJson(command: string, name: string, text: string | undefined, json: string | undefined): unknown {
  if (text !== undefined && json !== undefined) throw new UsageError(`${command}: give --${name} or --${name}-json, not both`);
  if (text !== undefined) return text;
  if (json === undefined) return undefined;
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new UsageError(`${command}: --${name}-json is not valid JSON: ${(error as Error).message}`);
  }
}

/** Exit code 0 when the run succeeded, 5 (runFailed) when it failed or was canceled. */
async function follow(runId: string, json: boolean, { client, stdout }: CommandContext): Promise<number> {
  const result = await followRun(client, runId, { out: stdout, json });
  if (result.status === 'succeeded') {
    if (!json && result.artifactId) stdout.write(`output: conveyor artifacts output ${result.artifactId}\n`);
    return 0;
  }
  if (result.status === 'unknown') {
    const run = await client.get<RunJson>(`/v1/runs/${encodeURIComponent(runId)}`);
    if (!json) stdout.write(`run ${run.id} ${run.status} (event stream ended early)\n`);
    return run.status === 'succeeded' ? ExitCode.ok : ExitCode.runFailed;
  }
  return ExitCode.runFailed;
}

import type { RedisConnection } from '../queue/connection.ts';
import { Counter, Registry } from 'prom-client';
import { budgetExceededCode } from '../budgets/check.ts';
import type { FinishedRun } from './run-observer.ts';

/*
 * Run, step, token and cost counters for the whole deployment. Whoever settles a run's end
 * (outbox.ts) adds the run to one Redis hash; the API's /metrics reads it, so one scrape covers
 * every worker with no per-worker configuration. (Each worker still has its own detailed
 * metrics, with durations, on WORKER_METRICS_PORT.)
 */

const key = (prefix: string) => `${prefix}:metrics:runs`;
const SEP = '\u001f';

/** Adds a finished run to the deployment's counters (one pipelined round trip). */
export async function countFinishedRun(redis: RedisConnection, prefix: string, run: FinishedRun): Promise<void> {
  const hash = key(prefix);
  const pipeline = redis.pipeline();
  pipeline.hincrby(hash, ['runs', run.status].join(SEP), 1);
  if (run.pipelineId && run.status === 'failed' && run.errorCode === budgetExceededCode) pipeline.hincrby(hash, ['budget_exceeded', run.pipelineId].join(SEP), 1);
  for (const step of run.steps) {
    if (!step.provider || !step.model) continue;
    pipeline.hincrby(hash, ['steps', step.provider, step.model, step.status].join(SEP), 1);
    for (const [type, count] of [
      ['input', step.inputTokens],
      ['output', step.outputTokens],
      ['cache_read', step.cacheReadTokens],
      ['cache_write', step.cacheWriteTokens],
    ] as const) {
      if (count > 0) pipeline.hincrby(hash, ['tokens', step.provider, step.model, type].join(SEP), count);
    }
    // Float in Prometheus anyway; the exact decimals are in Postgres (GET /v1/spend).
    if (step.cost !== null && Number(step.cost.toString()) > 0) {
      pipeline.hincrbyfloat(hash, ['cost', step.provider, step.model].join(SEP), step.cost.toString());
      if (run.pipelineId) pipeline.hincrbyfloat(hash, ['pipeline_cost', run.pipelineId].join(SEP), step.cost.toString());
    }
  }
  await pipeline.exec();
}

/** The deployment's counters as Prometheus metrics, read from Redis at each scrape. */
export function clusterCountersRegistry(redis: RedisConnection, prefix: string): Registry {
  const registry = new Registry();
  let reading: Promise<Map<string, string[][]>> | undefined;
  /** One HGETALL per scrape, shared by the four counters. */
  const read = () =>
    (reading ??= redis.hgetall(key(prefix)).then((fields) => {
      queueMicrotask(() => (reading = undefined));
      const byKind = new Map<string, string[][]>();
      for (const [field, value] of Object.entries(fields)) {
        const [kind, ...labels] = field.split(SEP);
        byKind.set(kind!, [...(byKind.get(kind!) ?? []), [...labels, value]]);
      }
      return byKind;
    }));
  const counter = (name: string, help: string, labelNames: string[], kind: string) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const entry of (await read()).get(kind) ?? []) {
          const value = Number(entry.at(-1));
          const labels = Object.fromEntries(labelNames.map((label, i) => [label, entry[i]!]));
          if (Number.isFinite(value) && value > 0) this.inc(labels, value);
        }
      },
    });
  counter('conveyor_deployment_runs_total', 'Runs that ended, by status, across every worker.', ['status'], 'runs');
  counter('conveyor_deployment_steps_total', 'Steps of ended runs, by provider, model and status, across every worker.', ['provider', 'model', 'status'], 'steps');
  counter('conveyor_deployment_tokens_total', 'Tokens of ended runs, by provider, model and type, across every worker.', ['provider', 'model', 'type'], 'tokens');
  counter('conveyor_deployment_cost_usd_total', 'Cost of ended runs in USD, by provider and model, across every worker.', ['provider', 'model'], 'cost');
  counter('conveyor_deployment_pipeline_cost_usd_total', 'Cost of ended runs in USD, by pipeline id, across every worker.', ['pipeline_id'], 'pipeline_cost');
  counter(
    'conveyor_deployment_budget_exceeded_total',
    'Runs stopped before a model call that might have taken them past their maxCostUsd, by pipeline id, across every worker.',
    ['pipeline_id'],
    'budget_exceeded',
  );
  return registry;
}

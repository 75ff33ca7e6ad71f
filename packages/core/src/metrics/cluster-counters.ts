import type { RedisConnection } from '../queue/connection.ts';
import { Counter, Registry } from 'prom-client';
import { budgetExceededCode } from '../budgets/check.ts';
import { Decimal } from '../catalog/cost.ts';
import type { Logger } from '../logger.ts';
import type { FinishedRun } from './run-observer.ts';

/*
 * Run, step, token and cost counters for the whole deployment. Whoever settles a run's end
 * (outbox.ts) adds the run to one Redis hash (see DeploymentCounters); the API's /metrics reads it, so one scrape covers
 * every worker with no per-worker configuration. (Each worker still has its own detailed
 * metrics, with durations, on WORKER_METRICS_PORT.)
 */

const key = (prefix: string) => `${prefix}:metrics:runs`;
const SEP = '\u001f';

export interface DeploymentCountersOptions {
  /** How long increments gather before they go to Redis together; 0 sends each run's at once. */
  flushIntervalMs?: number;
  logger?: Logger;
}

/**
 * Adds finished runs to the deployment's counters. Increments gather in memory and go to Redis
 * in one pipelined round trip per `flushIntervalMs` (default 1 s) and at `close()`: under load,
 * one write for hundreds of runs instead of one per run. A process killed outright loses at most
 * its last interval's counts (a counter, not a ledger: Postgres has the exact figures, GET /v1/spend).
 */
export class DeploymentCounters {
  readonly #hash: string;
  readonly #flushIntervalMs: number;
  readonly #counts = new Map<string, number>();
  readonly #costs = new Map<string, Decimal>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    private readonly options: DeploymentCountersOptions = {},
  ) {
    this.#hash = key(prefix);
    this.#flushIntervalMs = options.flushIntervalMs ?? 1000;
  }

  /** Counts a run that has ended. With no flush interval, resolves once Redis has it. */
  add(run: FinishedRun): Promise<void> {
    this.#count(['runs', run.status], 1);
    if (run.pipelineId && run.status === 'failed' && run.errorCode === budgetExceededCode) this.#count(['budget_exceeded', run.pipelineId], 1);
    for (const step of run.steps) {
      if (!step.provider || !step.model) continue;
      this.#count(['steps', step.provider, step.model, step.status], 1);
      this.#count(['tokens', step.provider, step.model, 'input'], step.inputTokens);
      this.#count(['tokens', step.provider, step.model, 'output'], step.outputTokens);
      this.#count(['tokens', step.provider, step.model, 'cache_read'], step.cacheReadTokens);
      this.#count(['tokens', step.provider, step.model, 'cache_write'], step.cacheWriteTokens);
      if (step.cost !== null) {
        const cost = new Decimal(step.cost.toString());
        if (cost.isPositive() && !cost.isZero()) {
          this.#addCost(['cost', step.provider, step.model], cost);
          if (run.pipelineId) this.#addCost(['pipeline_cost', run.pipelineId], cost);
        }
      }
    }
    if (this.#flushIntervalMs === 0) return this.flush();
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#flushIntervalMs).unref();
    return Promise.resolve();
  }

  /** Sends what has gathered; increments Redis refused are kept for the next flush. */
  flush(): Promise<void> {
    if (this.#counts.size === 0 && this.#costs.size === 0) return this.#flushing;
    const counts = [...this.#counts];
    const costs = [...this.#costs];
    this.#counts.clear();
    this.#costs.clear();
    const pipeline = this.redis.pipeline();
    for (const [field, count] of counts) pipeline.hincrby(this.#hash, field, count);
    // Float in Prometheus anyway; the exact decimals are in Postgres (GET /v1/spend).
    for (const [field, cost] of costs) pipeline.hincrbyfloat(this.#hash, field, cost.toString());
    const sent = this.#flushing
      .then(() => pipeline.exec())
      .then((results) => {
        if (results?.some(([error]) => error)) throw new Error('Redis refused some counter increments');
      });
    this.#flushing = sent.catch((error: unknown) => {
      this.options.logger?.warn({ err: error }, 'deployment counters: increments kept for the next flush');
      for (const [field, count] of counts) this.#counts.set(field, (this.#counts.get(field) ?? 0) + count);
      for (const [field, cost] of costs) this.#costs.set(field, (this.#costs.get(field) ?? new Decimal(0)).plus(cost));
    });
    return this.#flushing;
  }

  /** Sends what is left; nothing is gathered after. Idempotent. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  #count(labels: string[], count: number): void {
    if (count <= 0) return;
    const field = labels.join(SEP);
    this.#counts.set(field, (this.#counts.get(field) ?? 0) + count);
  }

  #addCost(labels: string[], cost: Decimal): void {
    const field = labels.join(SEP);
    this.#costs.set(field, (this.#costs.get(field) ?? new Decimal(0)).plus(cost));
  }
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

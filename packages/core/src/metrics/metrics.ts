import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Usage } from '../providers/types.ts';

/** Seconds: provider calls and steps range from sub-second to many minutes. */
const durationBuckets = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const waitBuckets = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export type RunOutcome = 'succeeded' | 'failed' | 'canceled';
/** A delivery attempt: `succeeded`, `failed` (another attempt follows), `gave_up` (schedule exhausted), `stopped`. */
export type WebhookOutcome = 'succeeded' | 'failed' | 'gave_up' | 'stopped';

/**
 * The product's Prometheus metrics and the hooks that move them. One instance per process
 * (`metrics`); each process exposes its own registry (API on `/metrics`, workers on
 * `WORKER_METRICS_PORT`).
 */
export class Metrics {
  readonly registry = new Registry();

  readonly #runsFinished = new Counter({
    name: 'conveyor_runs_finished_total',
    help: 'Runs that reached a terminal status, by status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly #runDuration = new Histogram({
    name: 'conveyor_run_duration_seconds',
    help: 'Time from a run starting to it ending, by terminal status.',
    labelNames: ['status'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });

  readonly #stepDuration = new Histogram({
    name: 'conveyor_step_duration_seconds',
    help: 'Time one pipeline step took, by provider, model and step status.',
    labelNames: ['provider', 'model', 'status'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });

  readonly #timeToFirstToken = new Histogram({
    name: 'conveyor_time_to_first_token_seconds',
    help: "Time from a step's first model request to its first streamed token, by provider and model.",
    labelNames: ['provider', 'model'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30],
    registers: [this.registry],
  });

  readonly #providerCallDuration = new Histogram({
    name: 'conveyor_provider_call_duration_seconds',
    help: 'Latency of one provider chat call (including its own retries, excluding the wait for a slot), by provider, model and outcome (ok or error).',
    labelNames: ['provider', 'model', 'outcome'] as const,
    buckets: durationBuckets,
    registers: [this.registry],
  });

  readonly #providerErrors = new Counter({
    name: 'conveyor_provider_errors_total',
    help: 'Provider chat calls that failed, by provider, model and error kind (rate_limited, server_error, timeout, auth, aborted, ...).',
    labelNames: ['provider', 'model', 'kind'] as const,
    registers: [this.registry],
  });

  readonly #tokens = new Counter({
    name: 'conveyor_tokens_total',
    help: 'Tokens used, by provider, model and type (input, output, cache_read, cache_write).',
    labelNames: ['provider', 'model', 'type'] as const,
    registers: [this.registry],
  });

  readonly #cost = new Counter({
    name: 'conveyor_cost_usd_total',
    help: 'Cost in US dollars, by provider and model (a float view of the exact decimal costs stored on runs).',
    labelNames: ['provider', 'model'] as const,
    registers: [this.registry],
  });

  readonly #pipelineCost = new Counter({
    name: 'conveyor_pipeline_cost_usd_total',
    help: 'Cost in US dollars, by pipeline id (a float view of the exact decimal costs stored on run steps).',
    labelNames: ['pipeline_id'] as const,
    registers: [this.registry],
  });

  readonly #budgetExceeded = new Counter({
    name: 'conveyor_budget_exceeded_total',
    help: 'Runs stopped before a model call that might have taken them past their maxCostUsd, by pipeline id.',
    labelNames: ['pipeline_id'] as const,
    registers: [this.registry],
  });

  readonly #webhookDeliveries = new Counter({
    name: 'conveyor_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (succeeded, failed = will be retried, gave_up, stopped).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Counted in a plain number and read at scrape time: a thousand streams ending at once each paid for a label lookup. */
  #openSseStreams = 0;
  readonly #sseSubscribers = (() => {
    const metrics = this;
    return new Gauge({
      name: 'conveyor_sse_subscribers',
      help: 'Open run event streams (SSE) served by this process.',
      registers: [this.registry],
      collect() {
        this.set(metrics.#openSseStreams);
      },
    });
  })();

  readonly #slotWait = new Histogram({
    name: 'conveyor_provider_slot_wait_seconds',
    help: 'Time a provider call waited for a slot under PROVIDER_CONCURRENCY, by provider.',
    labelNames: ['provider'] as const,
    buckets: waitBuckets,
    registers: [this.registry],
  });

  readonly #slotsHeld = new Gauge({
    name: 'conveyor_provider_slots_held',
    help: 'Provider concurrency slots held by this process, by provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly #rateLimited = new Counter({
    name: 'conveyor_rate_limited_total',
    help: 'Requests refused for going over a rate limit, by scope (api: API_RATE_LIMIT per token; login: console sign-in throttling).',
    labelNames: ['scope'] as const,
    registers: [this.registry],
  });

  readonly #approvals = new Counter({
    name: 'conveyor_approval_steps_total',
    help: 'Approval steps by outcome: waiting (a run reached one), approved, rejected, timed_out (its onTimeout decided).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'conveyor_' });
  }

  /** `durationMs` (started to finished) is absent for a run that ended before it started (expired, orphaned). */
  runFinished(status: RunOutcome, durationMs?: number): void {
    this.#runsFinished.inc({ status });
    if (durationMs !== undefined) this.#runDuration.observe({ status }, durationMs / 1000);
  }

  stepFinished(provider: string, model: string, status: string, durationMs: number): void {
    this.#stepDuration.observe({ provider, model, status }, durationMs / 1000);
  }

  /** One provider call ended; `errorKind` is set when it failed (ProviderError.kind, or `unknown`). */
  firstToken(provider: string, model: string, ms: number): void {
    this.#timeToFirstToken.observe({ provider, model }, ms / 1000);
  }

  providerCall(provider: string, model: string, durationMs: number, errorKind?: string): void {
    this.#providerCallDuration.observe({ provider, model, outcome: errorKind ? 'error' : 'ok' }, durationMs / 1000);
    if (errorKind) this.#providerErrors.inc({ provider, model, kind: errorKind });
  }

  tokensUsed(provider: string, model: string, usage: Usage): void {
    const add = (type: string, count: number | undefined) => {
      if (count) this.#tokens.inc({ provider, model, type }, count);
    };
    add('input', usage.inputTokens);
    add('output', usage.outputTokens);
    add('cache_read', usage.cacheReadTokens);
    add('cache_write', usage.cacheWriteTokens);
  }

  /** `usd` is the exact decimal string; Prometheus samples are floats, so it is converted here, for the metric only. */
  costIncurred(provider: string, model: string, usd: string): void {
    const amount = Number(usd);
    if (Number.isFinite(amount) && amount > 0) this.#cost.inc({ provider, model }, amount);
  }

  rateLimited(scope: 'api' | 'login'): void {
    this.#rateLimited.inc({ scope });
  }

  /** A model call's cost, counted for its run's pipeline (`usd` exact decimal, converted for the metric only). */
  pipelineCostIncurred(pipelineId: string, usd: string): void {
    const amount = Number(usd);
    if (Number.isFinite(amount) && amount > 0) this.#pipelineCost.inc({ pipeline_id: pipelineId }, amount);
  }

  /** A run failed with `budget_exceeded` instead of making a model call. */
  budgetExceeded(pipelineId: string): void {
    this.#budgetExceeded.inc({ pipeline_id: pipelineId });
  }

  approvalStep(outcome: 'waiting' | 'approved' | 'rejected' | 'timed_out'): void {
    this.#approvals.inc({ outcome });
  }

  webhookDelivery(outcome: WebhookOutcome): void {
    this.#webhookDeliveries.inc({ outcome });
  }

  /** Counts `serve` (one event stream, until it ends) in the SSE subscribers gauge. */
  async whileSseOpen<T>(serve: () => Promise<T>): Promise<T> {
    this.#openSseStreams++;
    try {
      return await serve();
    } finally {
      this.#openSseStreams--;
    }
  }

  providerSlotAcquired(provider: string, waitedMs: number): void {
    this.#slotWait.observe({ provider }, waitedMs / 1000);
    this.#slotsHeld.inc({ provider });
  }

  providerSlotReleased(provider: string): void {
    this.#slotsHeld.dec({ provider });
  }
}

/** The process-wide metrics. */
export const metrics = new Metrics();

import type { Database } from '../db/client.ts';
import type { RunEventStream } from '../events/publish.ts';
import type { Logger } from '../logger.ts';
import type { FinishedRun } from '../metrics/run-observer.ts';
import { ProviderError, ProviderNotConfiguredError, UnknownModelError } from '../providers/errors.ts';
import type { ProviderRegistry, ResolvedModel } from '../providers/registry.ts';
import type { ChatResult, Provider, Usage } from '../providers/types.ts';
import type { RunEndStatus } from '../webhooks/payload.ts';
import { artifactData } from './artifact.ts';
import { DEFAULT_MODEL, readDefaultModel } from './default-model.ts';
import { abortReason, RunFailedError, RunInterruptedError, type RunError } from './errors.ts';
import { endRun, totalsOf } from './run-state.ts';
import type { AgentSnapshot, RunState, RunStore, StepRecord, StepStart, StoredRun, StoredStep } from './run-store.ts';
import { renderPrompt } from './template.ts';

export interface ExecutionDeps {
  db: Database;
  store: RunStore;
  registry: ProviderRegistry;
  /** A ready provider client for a provider id (its key from storage or the environment). */
  provider(providerId: string): Promise<Provider>;
  /** The decimal cost of one call (null when the model has no known price) and any warning about it. */
  cost(providerId: string, model: string, usage: Usage): { cost: string | null; warnings: string[] };
  logger: Logger;
  /** Default maximum duration of a run (RUN_MAX_DURATION_SECONDS). */
  maxDurationSeconds: number;
  now?: () => Date;
}

/** How a run ended, as this process knows it: enough for its webhook and, when the steps are at hand, its metrics. */
export interface RunEnd {
  status: RunEndStatus;
  /** The run's own webhook URL, else its pipeline's. */
  webhookUrl: string | null;
  /** Set when the run succeeded here (every step is in memory); otherwise read back from Postgres. */
  finished?: FinishedRun;
}

export type RunOutcome =
  | { status: 'succeeded'; artifactId: string; end: RunEnd }
  | { status: 'failed'; error: RunError; end: RunEnd }
  | { status: 'canceled'; end: RunEnd }
  /** Nothing to do: the run does not exist or has ended already. */
  | { status: 'skipped' };

const skipped: RunOutcome = { status: 'skipped' };

/** A step with its agent and model resolved, ready to call. */
interface PlannedStep {
  step: StoredStep;
  agent: AgentSnapshot;
  resolved: ResolvedModel;
}

/**
 * Runs a run's steps in order, resuming at the first step that has not succeeded
 * (a retried or recovered job never calls or bills a finished step again), and ends
 * the run. The agents are read once, with the run: a run uses its agents as they were
 * when it started, and fails at once if one of them has been deleted.
 *
 * `signal` aborts the step in flight: reason `canceled` ends the run canceled;
 * `shutdown`/`lost` leave it running for another worker (RunInterruptedError).
 * Unexpected errors propagate with the run still running, so the job can be retried.
 */
export async function executeRun(
  deps: ExecutionDeps,
  runId: string,
  events: RunEventStream,
  signal: AbortSignal,
): Promise<RunOutcome> {
  const now = deps.now ?? (() => new Date());
  const run = await deps.store.load(runId);
  if (!run || run.status === 'succeeded' || run.status === 'failed' || run.status === 'canceled') return skipped;

  const fail = async (error: RunError): Promise<RunOutcome> => {
    if (!(await endRun(deps.db, runId, { status: 'failed', error }, now()))) return skipped;
    void events.emit('run.failed', { runId, error });
    return { status: 'failed', error, end: { status: 'failed', webhookUrl: run.webhookUrl } };
  };
  const cancel = async (): Promise<RunOutcome> => {
    if (!(await endRun(deps.db, runId, { status: 'canceled' }, now()))) return skipped;
    void events.emit('run.canceled', { runId });
    return { status: 'canceled', end: { status: 'canceled', webhookUrl: run.webhookUrl } };
  };

  if (run.cancelRequested) return cancel();
  if (run.status === 'queued' && run.ttlSeconds !== null && now().getTime() > run.createdAt.getTime() + run.ttlSeconds * 1000) {
    return fail({ code: 'expired', message: `the run waited in the queue longer than its ttl of ${run.ttlSeconds} s` });
  }
  const unfinished = run.steps.filter((step) => step.status !== 'succeeded');
  const missingAgentIds = [...new Set(unfinished.filter((step) => !step.agent).map((step) => step.agentId))];
  if (missingAgentIds.length > 0) return fail(orphanedError(missingAgentIds));

  const planner = new StepPlanner(deps);
  let planned: PlannedStep | undefined;
  try {
    planned = unfinished[0] && (await planner.plan(unfinished[0]));
  } catch (error) {
    if (error instanceof RunFailedError) return fail(error.error);
    throw error;
  }

  const startedNow = now();
  const start = await deps.store.start(runId, planned && startOf(planned), startedNow);
  if (!start.started) return skipped;
  if (start.started === 'fresh') void events.emit('run.started', { runId, startedAt: start.startedAt.toISOString() });
  if (planned) markStarted(planned, startedNow);

  const maxDurationSeconds = run.maxDurationSeconds ?? deps.maxDurationSeconds;
  const deadline = start.startedAt.getTime() + maxDurationSeconds * 1000;
  const timeoutError: RunError = { code: 'timeout', message: `the run exceeded its maximum duration of ${maxDurationSeconds} s` };
  const remainingMs = deadline - now().getTime();
  if (remainingMs <= 0) return fail(timeoutError);

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort('timeout'), remainingMs);
  const stepSignal = AbortSignal.any([signal, timeout.signal]);
  let last: StepRecord | undefined;
  /**
   * The previous step's record statement, still in flight: the next step's call does not
   * wait for it (its latency would add to every step), the next record or the completion does.
   */
  let recording: Promise<RunState | undefined> | undefined;
  /** Waits for the record in flight, if any; a run that was canceled or ended meanwhile stops here. */
  const settleRecording = async (): Promise<RunOutcome | undefined> => {
    if (!recording) return undefined;
    const state = await recording;
    recording = undefined;
    if (!state || state.status !== 'running') return skipped;
    if (state.cancelRequested) return cancel();
    return undefined;
  };
  try {
    let previous = run.steps.filter((step) => step.status === 'succeeded').at(-1)?.output ?? undefined;
    while (planned) {
      const { step } = planned;
      const stop = signalStop(stepSignal);
      if (stop) {
        const ended = await settleRecording();
        if (ended) return ended;
      }
      if (stop === 'canceled') return cancel();
      if (stop === 'timeout') return fail({ ...timeoutError, step: step.index });
      if (stop) throw new RunInterruptedError(stop);

      const prompt = renderPrompt(step.prompt ?? undefined, { input: run.input, previous: step.index === 0 ? undefined : previous });
      let record: StepRecord;
      try {
        record = await runStep(deps, run, planned, prompt, events, stepSignal, now);
      } catch (error) {
        const ended = await settleRecording();
        if (ended) return ended;
        const reason = stepSignal.aborted ? abortReason(stepSignal) : undefined;
        if (reason === 'canceled') return cancel();
        if (reason === 'timeout') return fail({ ...timeoutError, step: step.index });
        if (reason) throw new RunInterruptedError(reason);
        if (error instanceof RunFailedError) return fail(error.error);
        throw error;
      }
      previous = record.output;
      const ended = await settleRecording();
      if (ended) return ended;

      const following = unfinished[unfinished.indexOf(step) + 1];
      if (!following) {
        last = record;
        break;
      }
      let next: PlannedStep | undefined;
      let notStartable: RunError | undefined;
      try {
        next = await planner.plan(following);
      } catch (error) {
        if (!(error instanceof RunFailedError)) throw error;
        notStartable = error.error;
      }
      recording = deps.store.recordStep(runId, record, next && startOf(next));
      // settleRecording() awaits it before anything else is written for this run; until then a failure must not go unhandled.
      recording.catch(() => {});
      if (notStartable) return (await settleRecording()) ?? fail(notStartable);
      planned = next && markStarted(next, record.finishedAt);
    }
  } finally {
    clearTimeout(timer);
  }
  return complete(deps, run, start.startedAt, last, events, now);
}

async function complete(
  deps: ExecutionDeps,
  run: StoredRun,
  startedAt: Date,
  last: StepRecord | undefined,
  events: RunEventStream,
  now: () => Date,
): Promise<RunOutcome> {
  const steps = run.steps;
  const output = steps.at(-1)?.output ?? '';
  const totals = totalsOf(steps);
  const finishedAt = last?.finishedAt ?? now();
  const attempted = { ...run, attempts: run.attempts + 1 };
  const artifactId = await deps.store.complete(run.id, last, {
    output,
    ...totals,
    finishedAt,
    pipelineName: run.pipelineName,
    artifactData: artifactData(attempted, steps, output, totals, startedAt, finishedAt),
    models: [...new Set(steps.map((step) => step.model).filter((model): model is string => model !== null))],
    durationMs: finishedAt.getTime() - startedAt.getTime(),
  });
  if (!artifactId) return skipped;
  void events.emit('run.succeeded', {
    runId: run.id,
    output,
    usage: { inputTokens: totals.inputTokens, outputTokens: totals.outputTokens },
    cost: totals.cost,
    artifactId,
  });
  return {
    status: 'succeeded',
    artifactId,
    end: { status: 'succeeded', webhookUrl: run.webhookUrl, finished: { status: 'succeeded', startedAt, finishedAt, steps } },
  };
}

function startOf({ step, resolved }: PlannedStep): StepStart {
  return { index: step.index, provider: resolved.provider.id, model: resolved.model };
}

/** Keeps the in-memory step in line with what the start statement wrote. */
function markStarted(planned: PlannedStep, at: Date): PlannedStep {
  Object.assign(planned.step, { status: 'running', provider: planned.resolved.provider.id, model: planned.resolved.model, startedAt: at });
  return planned;
}

function orphanedError(missingAgentIds: string[]): RunError {
  return {
    code: 'pipeline_orphaned',
    message: `the pipeline names deleted agents: ${missingAgentIds.join(', ')}`,
    missingAgentIds,
  };
}

function signalStop(signal: AbortSignal) {
  return signal.aborted ? (abortReason(signal) ?? 'shutdown') : undefined;
}

/** Calls the step's model, emits its events and returns its record (the in-memory step is updated too). */
async function runStep(
  deps: ExecutionDeps,
  run: StoredRun,
  { step, agent, resolved }: PlannedStep,
  prompt: string,
  events: RunEventStream,
  signal: AbortSignal,
  now: () => Date,
): Promise<StepRecord> {
  const logger = deps.logger.child({ runId: run.id, step: step.index, provider: resolved.provider.id, model: resolved.model });
  void events.emit('step.started', { index: step.index, agentId: agent.id, provider: resolved.provider.id, model: resolved.model });
  logger.debug('step started');

  let result: ChatResult;
  try {
    const provider = await deps.provider(resolved.provider.id);
    result = await provider.chat({
      model: resolved.model,
      ...(agent.systemPrompt ? { system: agent.systemPrompt } : {}),
      messages: [{ role: 'user', content: prompt }],
      ...(agent.tools.length > 0 ? { tools: agent.tools as ChatToolList } : {}),
      ...(agent.maxTokens !== null ? { maxTokens: agent.maxTokens } : {}),
      ...(agent.temperature !== null ? { temperature: agent.temperature } : {}),
      signal,
      onDelta: (text) => events.delta(step.index, text),
    });
  } catch (error) {
    if (signal.aborted) throw error;
    if (error instanceof ProviderError || error instanceof ProviderNotConfiguredError) {
      logger.warn({ err: error }, 'step failed');
      throw new RunFailedError({
        code: 'provider_error',
        message: `step ${step.index} (${resolved.provider.id}, ${resolved.model}) failed: ${error.message}`,
        step: step.index,
      });
    }
    throw error;
  }

  const priced = deps.cost(resolved.provider.id, resolved.model, result.usage);
  const record: StepRecord = {
    index: step.index,
    output: result.text,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    cacheReadTokens: result.usage.cacheReadTokens ?? 0,
    cacheWriteTokens: result.usage.cacheWriteTokens ?? 0,
    cost: priced.cost,
    warnings: [...result.warnings, ...priced.warnings],
    finishedAt: now(),
  };
  Object.assign(step, { ...record, status: 'succeeded' });
  for (const message of record.warnings) void events.emit('step.warning', { index: step.index, message });
  void events.emit('step.completed', { index: step.index, output: result.text, usage: result.usage, cost: record.cost });
  logger.debug({ usage: result.usage, cost: record.cost }, 'step completed');
  return record;
}

type ChatToolList = NonNullable<Parameters<Provider['chat']>[0]['tools']>;

/** Resolves each step's agent to a provider and model; the default model is read at most once per run. */
class StepPlanner {
  #defaultModel: Promise<string | undefined> | undefined;

  constructor(private readonly deps: ExecutionDeps) {}

  async plan(step: StoredStep): Promise<PlannedStep> {
    const agent = step.agent;
    if (!agent) throw new RunFailedError({ ...orphanedError([step.agentId]), step: step.index });
    let model = agent.model;
    if (model === DEFAULT_MODEL) {
      const fallback = await (this.#defaultModel ??= readDefaultModel(this.deps.db));
      if (!fallback) {
        throw new RunFailedError({
          code: 'configuration_error',
          message: `step ${step.index}: agent ${agent.id} uses the default model, but no default model is set`,
          step: step.index,
        });
      }
      model = fallback;
    }
    try {
      return { step, agent, resolved: this.deps.registry.resolve(model) };
    } catch (error) {
      if (error instanceof UnknownModelError) {
        throw new RunFailedError({ code: 'provider_error', message: `step ${step.index}: ${error.message}`, step: step.index });
      }
      throw error;
    }
  }
}

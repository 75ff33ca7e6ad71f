import type { Logger } from '../../logger.ts';
import { childSignal } from '../../abort.ts';
import { addCosts } from '../../catalog/cost.ts';
import { newId } from '../../ids.ts';
import { UnknownModelError } from '../../providers/errors.ts';
import type { ProviderRegistry, ResolvedModel } from '../../providers/registry.ts';
import type { Provider, Usage } from '../../providers/types.ts';
import type { RunEventStream } from '../../events/publish.ts';
import { artifactData } from '../../pipeline/artifact.ts';
import { abortReason, RunFailedError, RunInterruptedError, type RunError } from '../../pipeline/errors.ts';
import { renderPrompt } from '../../pipeline/template.ts';
import { postgresSafeText } from '../../text/postgres-safe.ts';
import { DEFAULT_MODEL } from '../../settings/default-model.ts';
import { type ApprovalSystem, outputText } from './approvals.ts';
import { untilWritten } from './infrastructure.ts';
import { callModel, type ModelAnswer, stepLabel } from './model-call.ts';
import { type AgentLoopResult, RunStateChanged, runAgentLoop, stepActs, type StepToolsOptions } from './agent-loop.ts';
import { stepOutputValue } from '../step-output.ts';
import { traceStep } from '../../telemetry/spans.ts';
import type { RunOutbox } from './outbox.ts';
import type { AgentSnapshot, RunSnapshot, RunState, RunStore, StepRecord, StepStart, StoredRun, StoredStep } from './store.ts';
import { type TerminationSystem, totalsOf } from './termination.ts';

export interface ExecutionDeps {
  store: RunStore;
  approvals: Pick<ApprovalSystem, 'pause'>;
  termination: TerminationSystem;
  outbox: RunOutbox;
  registry: ProviderRegistry;
  /** A ready provider client for a provider id (its current key). */
  provider(providerId: string): Promise<Provider>;
  /** The decimal cost of one call made at `at` (null when the model has no known price) and any warning about it. */
  cost(providerId: string, model: string, usage: Usage, at: Date): { cost: string | null; warnings: string[] };
  /** The default model from settings (read once per run, when it starts). */
  defaultModel(): Promise<string | undefined>;
  logger: Logger;
  /** Default maximum duration of a run (RUN_MAX_DURATION_SECONDS). */
  maxDurationSeconds: number;
  /** How steps reach HTTP tools and MCP servers. */
  tools: StepToolsOptions;
  now?: () => Date;
}

export type ExecutionOutcome =
  | { status: 'succeeded'; artifactId: string }
  | { status: 'failed'; error: RunError }
  | { status: 'canceled' }
  /** The run waits at the approval step `index`; its job is done (approving enqueues it again). */
  | { status: 'waiting'; index: number }
  /** Nothing to do: the run does not exist or has ended already. */
  | { status: 'skipped' };

const skipped: ExecutionOutcome = { status: 'skipped' };

/** A step with its agent and model resolved, ready to call. */
interface PlannedStep {
  step: StoredStep;
  agent: AgentSnapshot;
  resolved: ResolvedModel;
  /** An earlier attempt started this step: a step that acts replays its recorded turns. */
  resumed: boolean;
  /** The agent's fallback models, in order. */
  fallbacks: ResolvedModel[];
}

/** An approval step: the run waits there for a person. */
interface PlannedApproval {
  step: StoredStep;
  approval: true;
}

type Planned = PlannedStep | PlannedApproval;

const isApproval = (planned: Planned): planned is PlannedApproval => 'approval' in planned;

/**
 * Execution: runs a run's steps in order, resuming at the first step that has not succeeded
 * (a retried or recovered job never calls or bills a finished step again), and ends the run.
 * A fresh run takes a snapshot of its pipeline and agents (the default model resolved) as it
 * starts; every attempt of the run uses that snapshot, so an edit made while it runs applies
 * from the next run. A deleted agent or an unresolvable model fails the run before any call.
 *
 * `signal` aborts the step in flight: reason `canceled` ends the run canceled;
 * `shutdown`/`lost` leave it running for another worker (RunInterruptedError).
 * Unexpected errors propagate with the run still running, so the job can be retried.
 */
export async function executeRun(deps: ExecutionDeps, runId: string, events: RunEventStream, signal: AbortSignal): Promise<ExecutionOutcome> {
  const now = deps.now ?? (() => new Date());
  const run = await deps.store.load(runId);
  // A waiting run is resumed by its approval, which enqueues it again: a stray job leaves it be.
  if (!run || run.status === 'succeeded' || run.status === 'failed' || run.status === 'canceled' || run.status === 'waiting') return skipped;

  /** What step `index` streamed before it was stopped: kept as its output, never thrown away. */
  const streamedBy = (index: number): string | undefined => {
    const text = events.streamedText(index);
    return text === undefined ? undefined : postgresSafeText(text).text;
  };
  const fail = async (error: RunError, partialOutput?: string): Promise<ExecutionOutcome> =>
    (await deps.termination.fail(runId, error, now(), partialOutput)) ? { status: 'failed', error } : skipped;
  const cancel = async (partialOutput?: string): Promise<ExecutionOutcome> =>
    (await deps.termination.cancel(runId, now(), partialOutput)) ? { status: 'canceled' } : skipped;

  if (run.cancelRequested) return cancel();
  const queuedSince = run.scheduledFor ?? run.createdAt;
  if (run.status === 'queued' && run.ttlSeconds !== null && now().getTime() > queuedSince.getTime() + run.ttlSeconds * 1000) {
    return fail({ code: 'expired', message: `the run waited in the queue longer than its ttl of ${run.ttlSeconds} s` });
  }
  const unfinished = run.steps.filter((step) => step.status !== 'succeeded');
  const missingAgentIds = [...new Set(unfinished.filter((step) => step.type === 'agent' && !step.agent).map((step) => step.agentId ?? ''))];
  if (missingAgentIds.length > 0) return fail(orphanedError(missingAgentIds));

  let plan: Planned[];
  try {
    // Read before markStarted changes it: a step an earlier attempt started may have recorded turns.
    plan = await planSteps(deps, unfinished);
  } catch (error) {
    if (error instanceof RunFailedError) return fail(error.error);
    throw error;
  }

  const startedNow = now();
  const first = plan[0];
  const start = await deps.store.start(runId, first && startOf(first), startedNow, run.snapshotted ? undefined : snapshotOf(run, plan));
  if (!start.started) return skipped;
  if (start.started === 'fresh') void events.emit('run.started', { runId, startedAt: start.startedAt.toISOString() });
  if (first) markStarted(first, startedNow);

  const maxDurationSeconds = run.maxDurationSeconds ?? deps.maxDurationSeconds;
  // Time spent waiting for approvals does not count.
  const deadline = start.startedAt.getTime() + maxDurationSeconds * 1000 + run.waitedMs;
  const timeoutError: RunError = { code: 'timeout', message: `the run exceeded its maximum duration of ${maxDurationSeconds} s` };
  const remainingMs = deadline - now().getTime();
  if (remainingMs <= 0) return fail(timeoutError);

  // The steps stop on the caller's stop or at the deadline.
  const steps = childSignal(signal, { ms: remainingMs, reason: 'timeout' });
  const stepSignal = steps.signal;
  let last: StepRecord | undefined;
  /**
   * The previous step's record statement, still in flight: the next step's call does not
   * wait for it (its latency would add to every step), the next record or the completion does.
   */
  let recording: Promise<RunState | undefined> | undefined;
  /** Waits for the record in flight, if any; a run that was canceled or ended meanwhile stops here. */
  const settleRecording = async (): Promise<ExecutionOutcome | undefined> => {
    if (!recording) return undefined;
    const state = await recording;
    recording = undefined;
    if (!state || state.status !== 'running') return skipped;
    if (state.cancelRequested) return cancel();
    return undefined;
  };
  try {
    const lastDone = run.steps.filter((step) => step.status === 'succeeded').at(-1);
    let previous: unknown = lastDone ? stepOutputValue(lastDone) : undefined;
    for (const [position, planned] of plan.entries()) {
      const { step } = planned;
      const stop = signalStop(stepSignal);
      if (stop) {
        const ended = await settleRecording();
        if (ended) return ended;
      }
      if (stop === 'canceled') return cancel();
      if (stop === 'timeout') return fail({ ...timeoutError, step: step.index });
      if (stop) throw new RunInterruptedError(stop);

      if (isApproval(planned)) {
        const ended = await settleRecording();
        if (ended) return ended;
        const soFar = outputText(step.index === 0 ? run.input : (previous ?? ''));
        if (await deps.approvals.pause(run, step, soFar, events, now())) return { status: 'waiting', index: step.index };
        const state = await deps.store.load(runId);
        return state?.cancelRequested && state.status === 'running' ? cancel() : skipped;
      }

      // A step that acts writes its turns while it runs: the previous step's record (which starts this step) must be in first.
      if (planned.agent && stepActs(planned.agent)) {
        const ended = await settleRecording();
        if (ended) return ended;
      }
      const prompt = renderPrompt(step.prompt ?? undefined, {
        input: run.input,
        previous: step.index === 0 ? undefined : previous,
        steps: run.steps.map((done) => (done.status === 'succeeded' ? stepOutputValue(done) : undefined)),
      });
      let record: StepRecord;
      try {
        record = await traceStep(run.id, step.index, () => runStep(deps, run, planned, prompt, events, stepSignal, now));
      } catch (error) {
        const ended = await settleRecording();
        if (ended) return ended;
        const reason = stepSignal.aborted ? abortReason(stepSignal) : undefined;
        if (reason === 'canceled') return cancel(streamedBy(step.index));
        if (reason === 'timeout') return fail({ ...timeoutError, step: step.index }, streamedBy(step.index));
        if (reason) throw new RunInterruptedError(reason);
        if (error instanceof RunStateChanged) return error.state?.status === 'running' ? cancel() : skipped;
        if (error instanceof RunFailedError) return fail(error.error);
        throw error;
      }
      previous = stepOutputValue(record);
      const ended = await settleRecording();
      if (ended) return ended;

      const next = plan[position + 1];
      if (!next) {
        last = record;
        break;
      }
      // The answer is in hand: it is kept until Postgres has it, even through an outage.
      recording = untilWritten(() => deps.store.recordStep(runId, record, startOf(next)), signal, deps.logger);
      // settleRecording() awaits it before anything else is written for this run; until then a failure must not go unhandled.
      recording.catch(() => {});
      markStarted(next, record.finishedAt);
    }
  } finally {
    steps.release();
  }
  return complete(deps, run, start.startedAt, last, events, start.started === 'fresh', signal, now);
}

async function complete(
  deps: ExecutionDeps,
  run: StoredRun,
  startedAt: Date,
  last: StepRecord | undefined,
  events: RunEventStream,
  startedHere: boolean,
  signal: AbortSignal,
  now: () => Date,
): Promise<ExecutionOutcome> {
  const steps = run.steps;
  const lastStep = steps.at(-1);
  const output = lastStep ? (stepOutputValue(lastStep) ?? '') : '';
  const totals = totalsOf(steps);
  const finishedAt = last?.finishedAt ?? now();
  const attempted = { ...run, attempts: run.attempts + 1 };
  const artifactId = newId('art');
  const event = { runId: run.id, output, usage: { inputTokens: totals.inputTokens, outputTokens: totals.outputTokens }, cost: totals.cost, artifactId };
  // A run that streamed all its events from here stores its history, terminal event included, as it completes.
  const terminalId = startedHere ? await events.reserveId() : undefined;
  const seen = terminalId === undefined ? undefined : events.history();
  const history = seen && [...seen, { id: terminalId!, type: 'run.succeeded' as const, data: event }];
  const written = await untilWritten(
    () =>
      deps.store.complete(run.id, last, {
        output,
        ...totals,
        finishedAt,
        pipelineName: run.pipelineName,
        artifactData: artifactData(attempted, steps, output, totals, startedAt, finishedAt),
        models: [...new Set(steps.map((step) => step.model).filter((model): model is string => model !== null))],
        durationMs: finishedAt.getTime() - startedAt.getTime(),
        artifactId,
        ...(history ? { history } : {}),
      }),
    signal,
    deps.logger,
  );
  if (!written) return skipped;
  await deps.outbox.settle({
    stream: events,
    streamSawWholeRun: startedHere,
    ...(history ? { terminalId } : {}),
    runId: run.id,
    status: 'succeeded',
    webhookUrl: run.webhookUrl,
    justEnded: true,
    event,
    finished: { pipelineId: run.pipelineId, status: 'succeeded', startedAt, finishedAt, steps },
  });
  return { status: 'succeeded', artifactId };
}

/** What a start statement marks running: an agent step (an approval step is marked waiting when the run gets there). */
function startOf(planned: Planned): StepStart | undefined {
  if (isApproval(planned)) return undefined;
  return { index: planned.step.index, provider: planned.resolved.provider.id, model: planned.resolved.model };
}

/** Keeps the in-memory step in line with what the start statement wrote. */
function markStarted(planned: Planned, at: Date): Planned {
  if (isApproval(planned)) return planned;
  Object.assign(planned.step, { status: 'running', provider: planned.resolved.provider.id, model: planned.resolved.model, startedAt: at });
  return planned;
}

/** The definitions the run keeps from now on: each agent as it is, with the default model resolved. */
function snapshotOf(run: StoredRun, plan: Planned[]): RunSnapshot {
  const resolvedModels = new Map(
    plan.flatMap((planned) =>
      isApproval(planned) ? [] : [[planned.step.index, planned.agent.model === DEFAULT_MODEL ? `${planned.resolved.provider.id}:${planned.resolved.model}` : planned.agent.model] as const],
    ),
  );
  return {
    pipelineName: run.pipelineName,
    maxDurationSeconds: run.maxDurationSeconds,
    steps: run.steps.map((step) => ({
      index: step.index,
      type: step.type,
      agentId: step.agentId,
      prompt: step.prompt,
      agent: step.agent && { ...step.agent, model: resolvedModels.get(step.index) ?? step.agent.model },
      approval: step.approval,
    })),
  };
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

/** Runs one step (one model call, or a loop of turns when the agent acts), emits its events and returns its record (the in-memory step is updated too). */
async function runStep(
  deps: ExecutionDeps,
  run: StoredRun,
  { step, agent, resolved, resumed, fallbacks }: PlannedStep,
  prompt: string,
  events: RunEventStream,
  signal: AbortSignal,
  now: () => Date,
): Promise<StepRecord> {
  // Fields rather than a child logger: a child's bindings are serialized (and redacted) when it
  // is made, a cost every step would pay for lines written only at debug level.
  const debug = (fields: object, message: string) => {
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ runId: run.id, step: step.index, provider: resolved.provider.id, model: resolved.model, ...fields }, message);
  };
  void events.emit('step.started', { index: step.index, agentId: agent.id, provider: resolved.provider.id, model: resolved.model });
  debug({}, 'step started');

  const budget = run.maxCostUsd === null ? undefined : { maxCostUsd: run.maxCostUsd, spentSoFar: spentSoFar(run) };
  const result = stepActs(agent)
    ? await runAgentLoop({ ...deps, now }, { runId: run.id, stepIndex: step.index, agent, resolved, fallbacks, budget, prompt, resumed, events, signal, now })
    : oneShotResult(
        await callModel({ ...deps, now }, {
          runId: run.id,
          stepIndex: step.index,
          turn: 1,
          resolved,
          fallbacks,
          budget,
          request: {
            ...(agent.systemPrompt ? { system: agent.systemPrompt } : {}),
            messages: [{ role: 'user', content: prompt }],
            ...(agent.tools.length > 0 ? { tools: agent.tools as ChatToolList } : {}),
            ...(agent.maxTokens !== null ? { maxTokens: agent.maxTokens } : {}),
            ...(agent.temperature !== null ? { temperature: agent.temperature } : {}),
            ...(agent.cacheSystemPrompt ? { cacheSystemPrompt: true } : {}),
          },
          events,
          signal,
        }),
      );
  // Postgres cannot hold U+0000 or lone surrogates: the answer is kept with U+FFFD in their place, never re-requested.
  const storable = postgresSafeText(result.output);
  const record: StepRecord = {
    index: step.index,
    provider: result.provider,
    model: result.model,
    output: storable.text,
    structured: result.structured,
    inputTokens: result.inputTokens,
    outputTokens: result.outputTokens,
    cacheReadTokens: result.cacheReadTokens,
    cacheWriteTokens: result.cacheWriteTokens,
    cost: result.cost,
    warnings: [...result.warnings, ...(storable.replaced ? [unstorableWarning] : [])],
    calledAt: result.calledAt,
    spentInTurns: stepActs(agent),
    failedAttempts: result.failedAttempts,
    firstTokenMs: result.firstTokenMs,
    finishedAt: now(),
  };
  const value = result.structured ? result.value : record.output;

  Object.assign(step, { ...record, structured: record.structured ?? false, status: 'succeeded' });
  const usage = { inputTokens: record.inputTokens, outputTokens: record.outputTokens, cacheReadTokens: record.cacheReadTokens, cacheWriteTokens: record.cacheWriteTokens };
  for (const message of record.warnings) void events.emit('step.warning', { index: step.index, message });
  void events.emit('step.completed', {
    index: step.index,
    output: value,
    usage,
    cost: record.cost,
    provider: record.provider,
    model: record.model,
    timeToFirstTokenMs: record.firstTokenMs,
  });
  debug({ usage, cost: record.cost }, 'step completed');
  return record;
}

const unstorableWarning = 'the answer held characters Postgres cannot store (U+0000 or lone surrogates); they were replaced with U+FFFD';

/** A one-shot step's answer in the shape of a tool loop's result. */
function oneShotResult(answer: ModelAnswer): AgentLoopResult {
  const { result } = answer;
  return {
    output: result.text,
    structured: false,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    cacheReadTokens: result.usage.cacheReadTokens ?? 0,
    cacheWriteTokens: result.usage.cacheWriteTokens ?? 0,
    cost: answer.cost,
    warnings: answer.warnings,
    provider: answer.provider,
    model: answer.model,
    calledAt: answer.calledAt,
    failedAttempts: answer.failedAttempts,
    firstTokenMs: answer.firstTokenMs,
  };
}

/** What the run's finished steps have cost. */
function spentSoFar(run: StoredRun): string {
  return addCosts(run.steps.filter((step) => step.status === 'succeeded').map((step) => step.cost));
}

type ChatToolList = NonNullable<Parameters<Provider['chat']>[0]['tools']>;

/**
 * Resolves every step left to run, before any is called: a step that cannot run (an agent
 * on the default model while none is set, a model no provider serves) fails the run at its
 * start, not after earlier steps were billed. The default model is read at most once.
 */
async function planSteps(deps: ExecutionDeps, steps: StoredStep[]): Promise<Planned[]> {
  let defaultModel: Promise<string | undefined> | undefined;
  const plan: Planned[] = [];
  for (const step of steps) {
    if (step.type === 'approval') {
      plan.push({ step, approval: true });
      continue;
    }
    const agent = step.agent;
    if (!agent) throw new RunFailedError({ ...orphanedError([step.agentId ?? '']), step: step.index });
    let model = agent.model;
    if (model === DEFAULT_MODEL) {
      const fallback = await (defaultModel ??= deps.defaultModel());
      if (!fallback) {
        throw new RunFailedError({
          code: 'configuration_error',
          message: `${stepLabel(step.index)}: agent ${agent.id} uses the default model, but no default model is set`,
          step: step.index,
        });
      }
      model = fallback;
    }
    try {
      plan.push({
        step,
        agent,
        resolved: deps.registry.resolve(model),
        resumed: step.status === 'running',
        fallbacks: agent.fallbackModels.map((fallback) => deps.registry.resolve(fallback)),
      });
    } catch (error) {
      if (error instanceof UnknownModelError) {
        throw new RunFailedError({ code: 'provider_error', message: `${stepLabel(step.index)}: ${error.message}`, step: step.index });
      }
      throw error;
    }
  }
  return plan;
}

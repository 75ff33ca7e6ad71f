import type { AgentModel as Agent, Database, PipelineStepModel as PipelineStep, RunModel as Run, RunStepModel as RunStep } from '../db/client.ts';
import type { RunEventStream } from '../events/publish.ts';
import type { Logger } from '../logger.ts';
import { ProviderError, ProviderNotConfiguredError, UnknownModelError } from '../providers/errors.ts';
import type { ProviderRegistry, ResolvedModel } from '../providers/registry.ts';
import type { ChatResult, Provider, Usage } from '../providers/types.ts';
import { DEFAULT_MODEL, readDefaultModel } from './default-model.ts';
import { abortReason, RunFailedError, RunInterruptedError, type RunError } from './errors.ts';
import { findMissingAgentIds } from './orphans.ts';
import { completeRun, endRun, markRunRunning } from './run-state.ts';
import { renderPrompt } from './template.ts';

export interface ExecutionDeps {
  db: Database;
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

export type RunOutcome =
  | { status: 'succeeded'; artifactId: string }
  | { status: 'failed'; error: RunError }
  | { status: 'canceled' }
  /** Nothing to do: the run does not exist or has ended already. */
  | { status: 'skipped' };

type LoadedRun = Run & { steps: RunStep[]; pipeline: { name: string; maxDurationSeconds: number | null; steps: PipelineStep[] } };

/**
 * Runs a run's steps in order, resuming at the first step that has not succeeded
 * (a retried or recovered job never calls or bills a finished step again), and ends
 * the run. Each step reads its agent as it is now; `__default__` is resolved here.
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
  const run = await loadRun(deps.db, runId);
  if (!run || ['succeeded', 'failed', 'canceled'].includes(run.status)) return { status: 'skipped' };

  const ended = (outcome: RunOutcome) => outcome;
  const fail = async (error: RunError): Promise<RunOutcome> => {
    if (!(await endRun(deps.db, runId, { status: 'failed', error }, now()))) return { status: 'skipped' };
    await events.emit('run.failed', { runId, error });
    return ended({ status: 'failed', error });
  };
  const cancel = async (): Promise<RunOutcome> => {
    if (!(await endRun(deps.db, runId, { status: 'canceled' }, now()))) return { status: 'skipped' };
    await events.emit('run.canceled', { runId });
    return { status: 'canceled' };
  };

  if (run.cancelRequested) return cancel();
  if (run.status === 'queued' && run.ttlSeconds !== null && now().getTime() > run.createdAt.getTime() + run.ttlSeconds * 1000) {
    return fail({ code: 'expired', message: `the run waited in the queue longer than its ttl of ${run.ttlSeconds} s` });
  }
  const unfinished = run.steps.filter((step) => step.status !== 'succeeded');
  const missingAgentIds = await findMissingAgentIds(deps.db, unfinished);
  if (missingAgentIds.length > 0) return fail(orphanedError(missingAgentIds));

  const start = await markRunRunning(deps.db, runId, now());
  if (!start.started) return { status: 'skipped' };
  if (start.started === 'fresh') await events.emit('run.started', { runId, startedAt: start.startedAt.toISOString() });

  const maxDurationSeconds = run.pipeline.maxDurationSeconds ?? deps.maxDurationSeconds;
  const deadline = start.startedAt.getTime() + maxDurationSeconds * 1000;
  const timeoutError: RunError = { code: 'timeout', message: `the run exceeded its maximum duration of ${maxDurationSeconds} s` };
  const remainingMs = deadline - now().getTime();
  if (remainingMs <= 0) return fail(timeoutError);

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort('timeout'), remainingMs);
  const stepSignal = AbortSignal.any([signal, timeout.signal]);
  try {
    let previous = run.steps.filter((step) => step.status === 'succeeded').at(-1)?.output ?? undefined;
    for (const [position, step] of unfinished.entries()) {
      // The run was read and marked running just now: the first step only needs the signal checked.
      const stop = position === 0 ? signalStop(stepSignal) : await stopReason(deps.db, runId, stepSignal);
      if (stop === 'canceled') return cancel();
      if (stop === 'timeout') return fail({ ...timeoutError, step: step.index });
      if (stop === 'ended') return { status: 'skipped' };
      if (stop) throw new RunInterruptedError(stop);

      const template = run.pipeline.steps.find((candidate) => candidate.index === step.index)?.prompt;
      const prompt = renderPrompt(template, { input: run.input, previous: step.index === 0 ? undefined : previous });
      try {
        previous = await runStep(deps, run, step, prompt, events, stepSignal, now);
      } catch (error) {
        const reason = stepSignal.aborted ? abortReason(stepSignal) : undefined;
        if (reason === 'canceled') return cancel();
        if (reason === 'timeout') return fail({ ...timeoutError, step: step.index });
        if (reason) throw new RunInterruptedError(reason);
        if (error instanceof RunFailedError) return fail(error.error);
        throw error;
      }
    }
  } finally {
    clearTimeout(timer);
  }

  const completed = await completeRun(deps.db, { ...run, startedAt: start.startedAt, attempts: run.attempts + 1 }, run.pipeline.name, now());
  if (!completed) return { status: 'skipped' };
  await events.emit('run.succeeded', {
    runId,
    output: completed.output,
    usage: { inputTokens: completed.totals.inputTokens, outputTokens: completed.totals.outputTokens },
    cost: completed.totals.cost,
    artifactId: completed.artifactId,
  });
  return { status: 'succeeded', artifactId: completed.artifactId };
}

function loadRun(db: Database, runId: string): Promise<LoadedRun | null> {
  return db.run.findUnique({
    where: { id: runId },
    include: {
      steps: { orderBy: { index: 'asc' } },
      pipeline: { select: { name: true, maxDurationSeconds: true, steps: true } },
    },
  });
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

/** Checked before each later step: an abort, a cancel request, or the run ended elsewhere. */
async function stopReason(db: Database, runId: string, signal: AbortSignal) {
  const aborted = signalStop(signal);
  if (aborted) return aborted;
  const current = await db.run.findUnique({ where: { id: runId }, select: { status: true, cancelRequested: true } });
  if (!current || current.status !== 'running') return 'ended' as const;
  if (current.cancelRequested) return 'canceled' as const;
  return undefined;
}

/** Runs one step and records it; returns its output. */
async function runStep(
  deps: ExecutionDeps,
  run: LoadedRun,
  step: RunStep,
  prompt: string,
  events: RunEventStream,
  signal: AbortSignal,
  now: () => Date,
): Promise<string> {
  const agent = await deps.db.agent.findUnique({ where: { id: step.agentId } });
  if (!agent) throw new RunFailedError({ ...orphanedError([step.agentId]), step: step.index });
  const resolved = await resolveModel(deps, agent, step.index);
  const logger = deps.logger.child({ runId: run.id, step: step.index, provider: resolved.provider.id, model: resolved.model });

  await deps.db.runStep.update({
    where: { runId_index: { runId: run.id, index: step.index } },
    data: { status: 'running', provider: resolved.provider.id, model: resolved.model, startedAt: now(), error: undefined },
  });
  await events.emit('step.started', { index: step.index, agentId: agent.id, provider: resolved.provider.id, model: resolved.model });
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
      ...(agent.temperature !== null ? { temperature: Number(agent.temperature.toFixed()) } : {}),
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
  const cost = priced.cost;
  const warnings = [...result.warnings, ...priced.warnings];
  for (const message of warnings) await events.emit('step.warning', { index: step.index, message });
  await deps.db.runStep.update({
    where: { runId_index: { runId: run.id, index: step.index } },
    data: {
      status: 'succeeded',
      output: result.text,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      cacheReadTokens: result.usage.cacheReadTokens ?? 0,
      cacheWriteTokens: result.usage.cacheWriteTokens ?? 0,
      cost,
      warnings,
      finishedAt: now(),
    },
  });
  await events.emit('step.completed', { index: step.index, output: result.text, usage: result.usage, cost });
  logger.debug({ usage: result.usage, cost }, 'step completed');
  return result.text;
}

type ChatToolList = NonNullable<Parameters<Provider['chat']>[0]['tools']>;

async function resolveModel(deps: ExecutionDeps, agent: Agent, index: number): Promise<ResolvedModel> {
  let model = agent.model;
  if (model === DEFAULT_MODEL) {
    const fallback = await readDefaultModel(deps.db);
    if (!fallback) {
      throw new RunFailedError({ code: 'configuration_error', message: `step ${index}: agent ${agent.id} uses the default model, but no default model is set`, step: index });
    }
    model = fallback;
  }
  try {
    return deps.registry.resolve(model);
  } catch (error) {
    if (error instanceof UnknownModelError) {
      throw new RunFailedError({ code: 'provider_error', message: `step ${index}: ${error.message}`, step: index });
    }
    throw error;
  }
}

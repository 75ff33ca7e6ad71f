import { checkCallBudget, type CallBudgetCheck } from '../../budgets/call-check.ts';
import { budgetExceededCode } from '../../budgets/check.ts';
import { UnpricedModelError } from '../../budgets/worst-case.ts';
import { addCosts, addUsage } from '../../catalog/cost.ts';
import type { DeltaProgressSource, RunEventStream } from '../../events/publish.ts';
import type { Logger } from '../../logger.ts';
import { RunFailedError } from '../../pipeline/errors.ts';
import { ProviderError, ProviderNotConfiguredError } from '../../providers/errors.ts';
import type { ResolvedModel } from '../../providers/registry.ts';
import type { ChatRequest, ChatResult, Provider, Usage } from '../../providers/types.ts';
import type { FailedAttempt } from './store.ts';
import { StreamingUsage } from './streaming-usage.ts';

export interface ModelCallDeps {
  /** A ready provider client for a provider id (its current key). */
  provider(providerId: string): Promise<Provider>;
  /** The decimal cost of one call made at `at` (null when the model has no known price) and any warning about it. */
  cost(providerId: string, model: string, usage: Usage, at: Date): { cost: string | null; warnings: string[] };
  logger: Logger;
  /** The clock calls are priced by (default: the system clock). */
  now?: () => Date;
}

/** One model call of a step: the first turn of a one-shot step, or any turn of a tool loop. */
export interface ModelCall {
  runId: string;
  stepIndex: number;
  /** 1-based turn of the step. */
  turn: number;
  resolved: ResolvedModel;
  /** The agent's fallback models, tried in order when `resolved` still fails with a transient error after its retries. */
  fallbacks?: readonly ResolvedModel[];
  /**
   * The run's budget and what its model calls have cost so far (earlier turns of this step
   * included); absent: no budget.
   */
  budget?: { maxCostUsd: string; spentSoFar: string } | undefined;
  /** What this step's earlier turns used and cost: the live figures sent while this call streams include them. */
  stepSoFar?: { usage: Usage; cost: string | null };
  /** The request without model, signal and callbacks (those are set here). */
  request: Omit<ChatRequest, 'model' | 'signal' | 'onDelta' | 'onToolCallDelta' | 'onUsage' | 'onRetry'>;
  events: RunEventStream;
  signal: AbortSignal;
}

/** A model call's answer, priced. */
export interface ModelAnswer {
  result: ChatResult;
  /** The model that answered (a fallback's when the step's own model failed). */
  provider: string;
  model: string;
  /** Exact decimal string; null when the model has no known price. */
  cost: string | null;
  /** When the answering call was made: it is priced at the rates in force then. */
  calledAt: Date;
  /** The call's own warnings (skipped features, unknown price) and one per model that failed before. */
  warnings: string[];
  /** Models that failed after their retries before one answered. */
  failedAttempts: FailedAttempt[];
  /** Milliseconds from the answering request to its first streamed token; null when nothing streamed. */
  firstTokenMs: number | null;
}

/**
 * How often a streaming step's deltas carry its usage and cost so far (at most): each figure is
 * priced, which at hundreds of streaming runs per worker is worth keeping to once a second.
 */
const liveUsageIntervalMs = 1000;

/** 1-based, as people count steps. */
export const stepLabel = (index: number) => `step ${index + 1}`;

const nameOf = (candidate: ResolvedModel) => `${candidate.provider.id}:${candidate.model}`;

/**
 * Makes one model call for a step. Before the call, its worst case must fit in what is left
 * of the run's budget (else the run fails `budget_exceeded` and the call is not made). It
 * streams the text as `step.delta`, tells clients to drop that text with `step.retry` when a
 * streamed call is retried or falls back, tries the agent's fallback models in order when
 * the model still fails with a transient error after its retries, prices the answer at the
 * answering model's rates in force when the call was made, and turns a provider failure into
 * the step's `provider_error`. Every model call of every step goes through here.
 */
export async function callModel(deps: ModelCallDeps, call: ModelCall): Promise<ModelAnswer> {
  const now = deps.now ?? (() => new Date());
  const { events, stepIndex } = call;
  const candidates = [call.resolved, ...(call.fallbacks ?? [])];
  const failedAttempts: FailedAttempt[] = [];
  let streamed = false;
  const dropStreamed = (attempt: number, reason: string) => {
    // The next attempt streams its text again from the start: clients drop what they have of this step.
    if (!streamed) return;
    streamed = false;
    void events.emit('step.retry', { index: stepIndex, attempt, reason });
  };

  for (const [position, candidate] of candidates.entries()) {
    const live = new StreamingUsage(call.request);
    let calledAt = now();
    let attemptStarted = performance.now();
    let firstTokenMs: number | null = null;
    let progressSentAt = attemptStarted;
    const tokenArrived = (chars: number) => {
      if (chars === 0) return;
      firstTokenMs ??= Math.round(performance.now() - attemptStarted);
      live.streamed(chars);
    };
    const progress: DeltaProgressSource = () => {
      const at = performance.now();
      if (at - progressSentAt < liveUsageIntervalMs) return undefined;
      progressSentAt = at;
      const current = live.current();
      const cost = deps.cost(candidate.provider.id, candidate.model, current.usage, calledAt).cost;
      if (!call.stepSoFar) return { ...current, cost };
      return {
        usage: addUsage([call.stepSoFar.usage, current.usage]),
        cost: cost === null && call.stepSoFar.cost === null ? null : addCosts([call.stepSoFar.cost, cost]),
        estimated: current.estimated,
      };
    };
    const request: ChatRequest = {
      ...call.request,
      model: candidate.model,
      signal: call.signal,
      onDelta: (text) => {
        streamed ||= text !== '';
        tokenArrived(text.length);
        events.delta(stepIndex, text, progress);
      },
      onToolCallDelta: (delta) => tokenArrived(delta.inputTextDelta.length),
      onUsage: (usage) => live.reported(usage),
      onRetry: ({ attempt, error }) => {
        live.restart();
        firstTokenMs = null;
        attemptStarted = performance.now();
        dropStreamed(attempt, error.message);
      },
    };
    try {
      const provider = await deps.provider(candidate.provider.id);
      calledAt = now();
      if (call.budget) await assertWithinBudget(deps.logger, call, call.budget, candidate, provider, request, calledAt);
      attemptStarted = performance.now();
      const result = await provider.chat(request);
      const priced = deps.cost(candidate.provider.id, candidate.model, result.usage, calledAt);
      return {
        result,
        provider: candidate.provider.id,
        model: candidate.model,
        cost: priced.cost,
        calledAt,
        warnings: [...failedAttempts.map((failed) => fallbackWarning(failed, candidate)), ...result.warnings, ...priced.warnings],
        failedAttempts,
        firstTokenMs,
      };
    } catch (error) {
      if (call.signal.aborted || !(error instanceof ProviderError || error instanceof ProviderNotConfiguredError)) throw error;
      const next = candidates[position + 1];
      // A fallback without a key is passed over; the step's own model without one fails the step.
      const fallsBack = next !== undefined && (error instanceof ProviderError ? error.transient : position > 0);
      const failed: FailedAttempt = {
        provider: candidate.provider.id,
        model: candidate.model,
        kind: error instanceof ProviderError ? error.kind : 'not_configured',
        message: error.message,
        at: now().toISOString(),
      };
      failedAttempts.push(failed);
      deps.logger.warn(
        { err: error, runId: call.runId, step: stepIndex, turn: call.turn, provider: failed.provider, model: failed.model },
        fallsBack ? 'model call failed; trying the next fallback model' : 'model call failed',
      );
      if (!fallsBack) throw new RunFailedError({ code: 'provider_error', message: providerFailure(stepIndex, failedAttempts), step: stepIndex });
      dropStreamed(1, `falling back to ${nameOf(next)}: ${failed.message}`);
    }
  }
  throw new Error('callModel: no model to call');
}

/** Throws RunFailedError `budget_exceeded` unless the call's worst case fits in what is left of the budget. */
async function assertWithinBudget(
  logger: Logger,
  call: ModelCall,
  budget: { maxCostUsd: string; spentSoFar: string },
  candidate: ResolvedModel,
  provider: Provider,
  request: ChatRequest,
  at: Date,
): Promise<void> {
  const countInputTokens = provider.countInputTokens?.bind(provider);
  const maxTokens = request.maxTokens ?? candidate.provider.defaultMaxTokens;
  let check: CallBudgetCheck;
  try {
    check = await checkCallBudget({
      budget: budget.maxCostUsd,
      spentSoFar: budget.spentSoFar,
      model: nameOf(candidate),
      at,
      request: { system: request.system, messages: request.messages, tools: [...(request.tools ?? []), ...(request.outputSchema ? [request.outputSchema] : [])] },
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      promptCaching: request.cacheSystemPrompt && candidate.provider.writesPromptCache ? '5m' : 'off',
      ...(countInputTokens
        ? {
            countTokens: () =>
              countInputTokens(request).catch((error: unknown) => {
                if (call.signal.aborted) throw error;
                // The byte bound, always safe, decides instead.
                logger.warn({ err: error, runId: call.runId, step: call.stepIndex }, 'token count failed; the budget check keeps the byte bound');
                return Number.MAX_SAFE_INTEGER;
              }),
          }
        : {}),
    });
  } catch (error) {
    if (error instanceof UnpricedModelError) {
      throw new RunFailedError({ code: budgetExceededCode, message: `${stepLabel(call.stepIndex)}: ${error.message}`, step: call.stepIndex });
    }
    throw error;
  }
  if (!check.ok) {
    throw new RunFailedError({ ...check.error.toJSON(), message: `${stepLabel(call.stepIndex)} (${nameOf(candidate)}): ${check.error.message}`, step: call.stepIndex });
  }
}

function fallbackWarning(failed: FailedAttempt, answered: ResolvedModel): string {
  return `${failed.provider}:${failed.model} failed (${failed.kind}: ${failed.message}); answered by ${nameOf(answered)}`;
}

function providerFailure(stepIndex: number, failedAttempts: FailedAttempt[]): string {
  const last = failedAttempts.at(-1)!;
  if (failedAttempts.length === 1) return `${stepLabel(stepIndex)} (${last.provider}, ${last.model}) failed: ${last.message}`;
  return `${stepLabel(stepIndex)} failed with every model: ${failedAttempts.map((f) => `${f.provider}:${f.model} (${f.message})`).join('; ')}`;
}

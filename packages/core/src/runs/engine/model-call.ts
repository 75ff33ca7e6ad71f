import type { RunEventStream } from '../../events/publish.ts';
import type { Logger } from '../../logger.ts';
import { RunFailedError } from '../../pipeline/errors.ts';
import { ProviderError, ProviderNotConfiguredError } from '../../providers/errors.ts';
import type { ResolvedModel } from '../../providers/registry.ts';
import type { ChatRequest, ChatResult, Provider, Usage } from '../../providers/types.ts';

export interface ModelCallDeps {
  /** A ready provider client for a provider id (its current key). */
  provider(providerId: string): Promise<Provider>;
  /** The decimal cost of one call (null when the model has no known price) and any warning about it. */
  cost(providerId: string, model: string, usage: Usage): { cost: string | null; warnings: string[] };
  logger: Logger;
}

/** One model call of a step: the first turn of a one-shot step, or any turn of a tool loop. */
export interface ModelCall {
  runId: string;
  stepIndex: number;
  /** 1-based turn of the step. */
  turn: number;
  resolved: ResolvedModel;
  /** The request without model, signal and callbacks (those are set here). */
  request: Omit<ChatRequest, 'model' | 'signal' | 'onDelta' | 'onRetry'>;
  events: RunEventStream;
  signal: AbortSignal;
}

/** A model call's answer, priced. */
export interface ModelAnswer {
  result: ChatResult;
  provider: string;
  model: string;
  /** Exact decimal string; null when the model has no known price. */
  cost: string | null;
  /** The call's own warnings (skipped features, unknown price). */
  warnings: string[];
}

/** 1-based, as people count steps. */
export const stepLabel = (index: number) => `step ${index + 1}`;

/**
 * Makes one model call for a step: streams its text as `step.delta`, tells clients to drop
 * that text with `step.retry` when a streamed call is retried, prices the answer, and turns
 * a provider failure into the step's `provider_error`. Every model call of every step goes
 * through here.
 */
export async function callModel(deps: ModelCallDeps, call: ModelCall): Promise<ModelAnswer> {
  const { resolved, events, stepIndex } = call;
  let streamed = false;
  let result: ChatResult;
  try {
    const provider = await deps.provider(resolved.provider.id);
    result = await provider.chat({
      ...call.request,
      model: resolved.model,
      signal: call.signal,
      onDelta: (text) => {
        streamed ||= text !== '';
        events.delta(stepIndex, text);
      },
      onRetry: ({ attempt, error }) => {
        // The retried call streams its text again from the start: clients drop what they have of this step.
        if (!streamed) return;
        streamed = false;
        void events.emit('step.retry', { index: stepIndex, attempt, reason: error.message });
      },
    });
  } catch (error) {
    if (call.signal.aborted) throw error;
    if (error instanceof ProviderError || error instanceof ProviderNotConfiguredError) {
      deps.logger.warn({ err: error, runId: call.runId, step: stepIndex, turn: call.turn }, 'model call failed');
      throw new RunFailedError({
        code: 'provider_error',
        message: `${stepLabel(stepIndex)} (${resolved.provider.id}, ${resolved.model}) failed: ${error.message}`,
        step: stepIndex,
      });
    }
    throw error;
  }
  const priced = deps.cost(resolved.provider.id, resolved.model, result.usage);
  return { result, provider: resolved.provider.id, model: resolved.model, cost: priced.cost, warnings: [...result.warnings, ...priced.warnings] };
}

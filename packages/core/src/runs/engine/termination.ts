import { addCosts } from '../../catalog/cost.ts';
import type { RunStatus } from '../../db/client.ts';
import type { RunError } from '../../pipeline/errors.ts';
import { isRunEndStatus } from '../../webhooks/payload.ts';
import { RunAlreadyEndedError, RunNotFoundError, RunStateChangingError } from './errors.ts';
import type { RunOutbox } from './outbox.ts';
import type { ApprovalDecision } from './approval-types.ts';
import type { EndFrom, EndOutcome, RunStore } from './store.ts';

/**
 * Termination: a run ends `failed` (its own failure, expired, timed out, rejected by the engine)
 * or `canceled`, whoever ends it. The status, the steps and the outbox row are written in one
 * statement; the outbox then emits the terminal event, counts the metrics and enqueues the webhook.
 */
export class TerminationSystem {
  constructor(
    private readonly store: RunStore,
    private readonly outbox: RunOutbox,
  ) {}

  /** Ends the run unless it has ended already; returns whether this call ended it. */
  async end(runId: string, outcome: EndOutcome, now = new Date(), from: EndFrom = 'any', decision?: ApprovalDecision): Promise<boolean> {
    const result = await this.store.end(runId, outcome, now, from, decision);
    if (!result.ended) return false;
    await this.outbox.settle({
      runId,
      status: outcome.status,
      webhookUrl: result.webhookUrl,
      justEnded: true,
      event: outcome.status === 'failed' ? { runId, error: outcome.error } : { runId },
    });
    return true;
  }

  /** `partialOutput`: the text the step in flight had streamed, kept as its output. */
  fail(runId: string, error: RunError, now?: Date, partialOutput?: string): Promise<boolean> {
    return this.end(runId, { status: 'failed', error, ...(partialOutput ? { partialOutput } : {}) }, now);
  }

  cancel(runId: string, now?: Date, partialOutput?: string): Promise<boolean> {
    return this.end(runId, { status: 'canceled', ...(partialOutput ? { partialOutput } : {}) }, now);
  }

  /** Cancels a run that no worker holds (queued, or waiting for an approval); false if it is in neither state. */
  cancelIdle(runId: string, now?: Date): Promise<boolean> {
    return this.end(runId, { status: 'canceled' }, now, 'idle');
  }

  /** Ends a waiting run `failed` with its approval step's decision; false if it was not waiting. */
  reject(runId: string, error: RunError, decision: ApprovalDecision, now?: Date): Promise<boolean> {
    return this.end(runId, { status: 'failed', error }, now, 'waiting', decision);
  }
}

export interface Totals {
  inputTokens: number;
  outputTokens: number;
  /** Decimal sum of the known step costs; null when no step has a known price. */
  cost: string | null;
}

/** Sums steps' usage; a cost is a decimal string or a Prisma Decimal. */
export function totalsOf(steps: { inputTokens: number; outputTokens: number; cost: string | { toFixed(): string } | null }[]): Totals {
  const costs = steps.map((step) => (step.cost === null ? null : typeof step.cost === 'string' ? step.cost : step.cost.toFixed()));
  return {
    inputTokens: steps.reduce((sum, step) => sum + step.inputTokens, 0),
    outputTokens: steps.reduce((sum, step) => sum + step.outputTokens, 0),
    cost: costs.some((cost) => cost !== null) ? addCosts(costs) : null,
  };
}

/** Rounds of cancel before a run that keeps changing state is reported as such. */
export const CANCEL_ROUNDS = 5;

/**
 * What cancel does after its flag statement saw `status` (undefined: no run) and flagged the run
 * or not: done (`requested`), try again from the start (`retry`: the run is queued, running or
 * waiting, and moved since the first statement), or throw.
 */
export function afterCancelRequest(runId: string, status: RunStatus | undefined, flagged: boolean, round: number): 'requested' | 'retry' {
  if (flagged) return 'requested';
  if (status === undefined) throw new RunNotFoundError(runId);
  if (isRunEndStatus(status)) throw new RunAlreadyEndedError(runId, status);
  if (round >= CANCEL_ROUNDS) throw new RunStateChangingError(runId, status);
  return 'retry';
}

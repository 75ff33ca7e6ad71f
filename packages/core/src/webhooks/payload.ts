import type { RunStatus } from '../db/client.ts';
import { type RunJson, type RunWithSteps, serializeRun } from '../runs/serialize.ts';

export const runEndStatuses = ['succeeded', 'failed', 'canceled'] as const satisfies RunStatus[];
export type RunEndStatus = (typeof runEndStatuses)[number];
export type RunWebhookType = `run.${RunEndStatus}` | 'run.waiting';

export interface RunWebhookPayload {
  type: RunWebhookType;
  /** When the run ended. */
  timestamp: string;
  data: RunJson;
}

export function isRunEndStatus(status: RunStatus): status is RunEndStatus {
  return (runEndStatuses as readonly string[]).includes(status);
}

/** One event per run end: its id is the `webhook-id` and the delivery job id. */
export function runEndEvent(runId: string, status: RunEndStatus): { id: string; type: RunWebhookType } {
  return { id: `msg_${runId}_${status}`, type: `run.${status}` };
}

/** One event per approval step a run waits at. */
export function runWaitingEvent(runId: string, index: number): { id: string; type: 'run.waiting' } {
  return { id: `msg_${runId}_waiting_${index}`, type: 'run.waiting' };
}

/** The run's own webhook URL wins over its pipeline's. */
export function effectiveWebhookUrl(run: { webhookUrl: string | null; pipeline: { webhookUrl: string | null } }): string | null {
  return run.webhookUrl ?? run.pipeline.webhookUrl;
}

/** A run-end event's payload, or (`type` `run.waiting`) the payload of the run waiting at an approval step. */
export function runWebhookPayload(run: RunWithSteps, type: RunWebhookType): RunWebhookPayload {
  return {
    type,
    timestamp: (type === 'run.waiting' ? (run.waitingSince ?? run.updatedAt) : (run.finishedAt ?? run.updatedAt)).toISOString(),
    data: serializeRun(run),
  };
}

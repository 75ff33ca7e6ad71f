export const RUNS_QUEUE = 'runs';
export const WEBHOOKS_QUEUE = 'webhooks';

/**
 * BullMQ key prefix. The `{…}` hash tag keeps every key of a queue in one Redis
 * Cluster slot, which BullMQ's Lua scripts require.
 */
export function queuePrefix(base: string): string {
  return base.includes('{') ? base : `{${base}}`;
}

/** The data of a job on the runs queue; its job id is the run id (see approvalTimeoutJobId for the other kind). */
export interface RunJobData {
  runId: string;
  requestId?: string;
  /** W3C trace context of the submitting request (with tracing on). */
  trace?: Record<string, string>;
  /** W3C trace context of what resumed a waiting run (the approving request, or its timeout): the run's span links to it. */
  resumedBy?: Record<string, string>;
  /** Not a run to execute: the timeout of the approval step at this index, for the run waiting there. */
  approvalTimeout?: number;
}

/** The delayed job that applies an approval step's timeout. */
export const approvalTimeoutJobId = (runId: string, index: number) => `${runId}_approval_${index}`;

/** Redis pub/sub channel on which the API asks workers to abort a running run (message: the run id). */
export const cancelChannel = (prefix: string) => `${prefix}:cancel`;

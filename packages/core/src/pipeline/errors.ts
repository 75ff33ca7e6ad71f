/** Why a run failed, as stored in `run.error` and sent in `run.failed`. */
export interface RunError {
  code: string;
  message: string;
  step?: number;
  missingAgentIds?: string[];
  /** Why a structured answer was refused (`invalid_output`). */
  validationErrors?: string[];
  /** `budget_exceeded`: the run's maxCostUsd, what it had spent, the next call's worst case and what was left (USD). */
  budget?: string;
  spentSoFar?: string;
  worstCase?: string;
  remaining?: string;
}

/**
 * A failure that ends the run `failed` and that trying again cannot fix
 * (orphaned pipeline, provider error after the provider's own retries, timeout, ...).
 */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  constructor(readonly error: RunError) {
    super(error.message);
  }
}

/** Why a run's AbortSignal fired. */
export type AbortReason = 'canceled' | 'timeout' | 'shutdown' | 'lost';

/** The abort reason of `signal`, when it is one of ours. */
export function abortReason(signal: AbortSignal): AbortReason | undefined {
  const reason: unknown = signal.reason;
  return reason === 'canceled' || reason === 'timeout' || reason === 'shutdown' || reason === 'lost' ? reason : undefined;
}

/** The run was given up by this process (shutdown, lost job lock): another worker resumes it. */
export class RunInterruptedError extends Error {
  override name = 'RunInterruptedError';
  constructor(readonly reason: AbortReason) {
    super(`run execution interrupted (${reason})`);
  }
}

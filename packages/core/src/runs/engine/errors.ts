/** What the run engine refuses, for callers to answer as they see fit (the API maps each to a status). */
export class RunEngineError extends Error {
  override name = 'RunEngineError';
}

export class PipelineNotFoundError extends RunEngineError {
  override name = 'PipelineNotFoundError';
  constructor(readonly pipelineId: string) {
    super(`pipeline ${pipelineId} not found`);
  }
}

/** A step names a deleted agent: the run is refused before anything is enqueued or billed. */
export class PipelineOrphanedError extends RunEngineError {
  override name = 'PipelineOrphanedError';
  constructor(
    readonly pipelineId: string,
    readonly missingAgentIds: string[],
  ) {
    super(`pipeline ${pipelineId} names deleted agents: ${missingAgentIds.join(', ')}`);
  }
}

/** A step's agent uses the default model and no default model is set. */
export class DefaultModelUnsetError extends RunEngineError {
  override name = 'DefaultModelUnsetError';
  constructor(readonly pipelineId: string) {
    super(`pipeline ${pipelineId} has an agent that uses the default model, and no default model is set (PUT /v1/settings)`);
  }
}

export class RunNotFoundError extends RunEngineError {
  override name = 'RunNotFoundError';
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
  }
}

/** The transition needs a run that has not ended. */
export class RunAlreadyEndedError extends RunEngineError {
  override name = 'RunAlreadyEndedError';
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run ${runId} has already ended (${status})`);
  }
}

/** The run changed state at every attempt of a transition (it is very busy): the caller may try again. */
export class RunStateChangingError extends RunEngineError {
  override name = 'RunStateChangingError';
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run ${runId} kept changing state (now ${status}); try again`);
  }
}

/** Approve and reject need a run that waits at an approval step. */
export class RunNotWaitingError extends RunEngineError {
  override name = 'RunNotWaitingError';
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(`run ${runId} is not waiting for an approval (it is ${status})`);
  }
}

/**
 * A branch the engine refuses: `invalid` when the request names steps that cannot be so
 * (past the end, an override of a step the branch does not run), `conflict` when the parent
 * run has no output to reuse.
 */
export class BranchRefusedError extends RunEngineError {
  override name = 'BranchRefusedError';
  constructor(
    message: string,
    readonly kind: 'invalid' | 'conflict',
  ) {
    super(message);
  }
}

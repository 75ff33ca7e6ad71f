import type { StoredStep } from '../runs/engine/store.ts';
import type { Totals } from '../runs/engine/termination.ts';
import { stepOutputValue } from '../runs/step-output.ts';

export interface ArtifactRun {
  id: string;
  input: unknown;
  metadata: unknown;
  attempts: number;
}

/** The artifact's JSON document: the run's output, every step, usage, cost and how it completed. */
export function artifactData(run: ArtifactRun, steps: StoredStep[], output: unknown, totals: Totals, startedAt: Date, finishedAt: Date) {
  return {
    output,
    input: run.input,
    steps: steps.map((step) => ({
      index: step.index,
      agentId: step.agentId,
      provider: step.provider,
      model: step.model,
      output: stepOutputValue(step) ?? null,
      usage: { inputTokens: step.inputTokens, outputTokens: step.outputTokens },
      cost: step.cost,
      warnings: step.warnings,
      startedAt: step.startedAt?.toISOString() ?? null,
      finishedAt: step.finishedAt?.toISOString() ?? null,
    })),
    usage: { inputTokens: totals.inputTokens, outputTokens: totals.outputTokens },
    cost: totals.cost,
    completion: {
      runId: run.id,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      attempts: run.attempts,
    },
    ...(run.metadata === null ? {} : { metadata: run.metadata }),
  };
}

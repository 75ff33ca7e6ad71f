import type { ArtifactJson } from '@conveyor/core';

export interface ArtifactStepView {
  index: number;
  agentId: string | null;
  provider: string | null;
  model: string | null;
  output: string | null;
  usage: { inputTokens: number; outputTokens: number } | null;
  cost: string | null;
  warnings: string[];
}

export interface ArtifactView {
  output: string | null;
  input: unknown;
  steps: ArtifactStepView[];
}

const text = (value: unknown) => (typeof value === 'string' ? value : value === undefined || value === null ? null : JSON.stringify(value, null, 2));
const stringOrNull = (value: unknown) => (typeof value === 'string' ? value : null);
const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

/**
 * Reads an artifact's JSONB payload (`{output, input, steps: [...]}`, as the worker writes it).
 * The payload is stored data of any age, so every field is checked rather than assumed.
 */
export function readArtifactData(artifact: ArtifactJson): ArtifactView {
  const data = record(artifact.data);
  const steps = Array.isArray(data.steps) ? data.steps : [];
  return {
    output: text(data.output),
    input: data.input,
    steps: steps.map((raw, position) => {
      const step = record(raw);
      const usage = record(step.usage);
      return {
        index: typeof step.index === 'number' ? step.index : position,
        agentId: stringOrNull(step.agentId),
        provider: stringOrNull(step.provider),
        model: stringOrNull(step.model),
        output: text(step.output),
        usage:
          typeof usage.inputTokens === 'number' && typeof usage.outputTokens === 'number'
            ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }
            : null,
        cost: stringOrNull(step.cost),
        warnings: Array.isArray(step.warnings) ? step.warnings.filter((w): w is string => typeof w === 'string') : [],
      };
    }),
  };
}

/** A step's output as clients and templates see it: its text, or the JSON value of a structured answer. */
export function stepOutputValue(step: { output: string | null; structured?: boolean | null }): unknown {
  if (step.output === null) return undefined;
  if (!step.structured) return step.output;
  try {
    return JSON.parse(step.output);
  } catch {
    return step.output;
  }
}

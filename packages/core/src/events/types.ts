import type { Usage } from '../providers/types.ts';

/** The events of one run, in the order a client sees them on `GET /v1/runs/:id/events`. */
export type RunEventMap = {
  'run.started': { runId: string; startedAt: string };
  'step.started': { index: number; agentId: string; provider: string; model: string };
  'step.delta': { index: number; text: string } & Partial<DeltaProgress>;
  'step.warning': { index: number; message: string };
  /** A provider call is retried after some of its text was sent: clients discard this step's deltas so far. */
  'step.retry': { index: number; attempt: number; reason: string };
  /** A tool call the model asked for, as it starts (`turn` is 1-based). */
  'step.tool_call': { index: number; turn: number; toolCallId: string; name: string; input: unknown };
  /** Its result: JSON when the tool answered JSON, else text. */
  'step.tool_result': { index: number; turn: number; toolCallId: string; output: unknown; isError: boolean; durationMs: number };
  /** `output` is the step's text, or its JSON value when the agent has an output schema. */
  /** `provider` and `model`: who answered (a fallback model when the step's own failed). */
  /** `timeToFirstTokenMs`: from the step's first model request to its first streamed token (null: nothing streamed). */
  'step.completed': { index: number; output: unknown; usage: Usage; cost: string | null; provider?: string; model?: string; timeToFirstTokenMs?: number | null };
  /** The run reached an approval step and waits, holding no worker: `output` is the output so far. */
  'run.waiting': { index: number; output: string };
  'run.succeeded': { runId: string; output: unknown; usage: Usage; cost: string | null; artifactId: string };
  'run.failed': { runId: string; error: { code: string; message: string; step?: number } };
  'run.canceled': { runId: string };
};

/**
 * What a streaming step has used and cost so far (its earlier turns included), sent with some
 * deltas. `estimated`: tokens the provider has not reported yet are estimated from the text
 * sent and streamed; `step.completed` carries the exact figures.
 */
export interface DeltaProgress {
  usage: Usage;
  cost: string | null;
  estimated: boolean;
}

export type RunEventType = keyof RunEventMap;
export const terminalEvents = ['run.succeeded', 'run.failed', 'run.canceled'] as const satisfies RunEventType[];

export interface RunEvent<T extends RunEventType = RunEventType> {
  /** Increases within the run; the SSE `id:`. */
  id: string;
  type: T;
  data: RunEventMap[T];
}

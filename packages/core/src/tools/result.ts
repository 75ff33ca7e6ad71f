/** What running one tool call gives the model, and the errors that are not results. */

export interface ToolCallContext {
  runId: string;
  stepIndex: number;
  /** The provider's id of the call; stable across retries and across a resumed run. */
  toolCallId: string;
  /** Cancels the call: the request in flight is aborted and ToolCallAbortedError thrown. */
  signal?: AbortSignal;
}

export interface ToolResult {
  /** What the model reads (a JSON text or plain text). */
  output: string;
  /** The output as JSON when it is JSON (for the run record); undefined for plain text. */
  json?: unknown;
  /** The tool failed; `output` says why, in words the model can act on. */
  isError: boolean;
  /** E.g. the result was truncated. */
  warnings: string[];
  /** Requests made (1 unless retried). */
  attempts: number;
  durationMs: number;
}

/** The call was cancelled (the run was cancelled or timed out). Not a result: the loop stops. */
export class ToolCallAbortedError extends Error {
  override name = 'ToolCallAbortedError';
  constructor(toolName: string) {
    super(`the call to tool ${toolName} was aborted`);
  }
}

const encoder = new TextEncoder();

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return { text, truncated: false };
  // fatal: false drops a partial trailing character as U+FFFD; strip it.
  const cut = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, maxBytes)).replace(/\uFFFD+$/, '');
  return { text: cut, truncated: true };
}

import type { ApiClient } from './client.ts';
import { CliError, ExitCode } from './errors.ts';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** Parses a Server-Sent Events body into messages (comments and retry hints are ignored). */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  let buffer = '';
  let message = { id: undefined as string | undefined, event: '', data: [] as string[] };
  const decoder = new TextDecoder();
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (message.data.length > 0) yield { id: message.id, event: message.event || 'message', data: message.data.join('\n') };
        message = { id: message.id, event: '', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') message.data.push(value);
      else if (field === 'event') message.event = value;
      else if (field === 'id') message.id = value;
    }
  }
}

export interface RunStreamEvent {
  id: string | undefined;
  type: string;
  data: Record<string, unknown>;
}

const terminal = new Set(['run.succeeded', 'run.failed', 'run.canceled']);
const maxReconnects = 5;

/**
 * The events of one run, until its terminal event. A dropped connection is resumed
 * with `Last-Event-ID`, so no event is lost or repeated.
 */
export async function* runEvents(client: ApiClient, runId: string, signal?: AbortSignal): AsyncGenerator<RunStreamEvent> {
  let lastEventId: string | undefined;
  let reconnects = 0;
  for (;;) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const response = await client.open(`/v1/runs/${encodeURIComponent(runId)}/events`, headers, signal);
    if (!response.body) return;
    try {
      for await (const message of parseSse(response.body)) {
        if (message.id) lastEventId = message.id;
        const event = { id: message.id, type: message.event, data: parseData(message.data) };
        yield event;
        if (terminal.has(event.type)) return;
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      if (reconnects >= maxReconnects) {
        throw new CliError(`the event stream of run ${runId} broke: ${error instanceof Error ? error.message : String(error)}`, ExitCode.unreachable);
      }
    }
    if (signal?.aborted || reconnects >= maxReconnects) return;
    reconnects += 1;
    await new Promise((resolve) => setTimeout(resolve, 200 * reconnects));
  }
}

function parseData(data: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(data) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    return { text: data };
  }
}

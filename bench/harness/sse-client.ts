import { get } from 'node:http';
import { wallClockMs } from './stats.ts';

export interface ReceivedEvent {
  event: string;
  /** The SSE `id:` (the Redis stream entry id, whose first part is Redis' clock in ms when it was written). */
  id: string | undefined;
  data: string;
  /** Wall-clock ms when the bytes carrying the event arrived. */
  receivedAt: number;
}

export interface Subscription {
  /** Resolves once the response headers arrived (the server accepted the stream). */
  opened: Promise<void>;
  /** Resolves when the stream ends (the server closes it after the run's terminal event). */
  closed: Promise<ReceivedEvent[]>;
  close(): void;
  /** The events received so far. */
  received(): readonly ReceivedEvent[];
}

/** A minimal Server-Sent Events client that timestamps every event on arrival. */
export function subscribe(url: string, headers: Record<string, string>): Subscription {
  const events: ReceivedEvent[] = [];
  let resolveOpened!: () => void;
  let rejectOpened!: (error: Error) => void;
  const opened = new Promise<void>((resolve, reject) => {
    resolveOpened = resolve;
    rejectOpened = reject;
  });
  const request = get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false });
  const closed = new Promise<ReceivedEvent[]>((resolve, reject) => {
    request.on('error', (error) => {
      rejectOpened(error);
      reject(error);
    });
    request.on('response', (response) => {
      if (response.statusCode !== 200) {
        const error = new Error(`${url} answered ${response.statusCode}`);
        rejectOpened(error);
        reject(error);
        response.resume();
        return;
      }
      resolveOpened();
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (chunk: string) => {
        const receivedAt = wallClockMs();
        buffer += chunk;
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop() ?? '';
        for (const block of blocks) {
          let event = 'message';
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split(/\r?\n/)) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('id:')) id = line.slice(3).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) events.push({ event, id, data: data.join('\n'), receivedAt });
        }
      });
      response.on('end', () => resolve(events));
      response.on('close', () => resolve(events));
    });
  });
  return { opened, closed, close: () => request.destroy(), received: () => events };
}

import type { Redis } from 'ioredis';
import { compareEventIds, runEventsKey } from './keys.ts';
import type { RunEvent, RunEventType } from './types.ts';

type StreamEntry = [id: string, fields: string[]];

export function entryToEvent([id, fields]: StreamEntry): RunEvent {
  let type = '';
  let data = '{}';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'type') type = fields[i + 1]!;
    else if (fields[i] === 'data') data = fields[i + 1]!;
  }
  return { id, type: type as RunEventType, data: JSON.parse(data) } as RunEvent;
}

const historyPage = 1000;

/** The stored events of a run after `afterId` (all of them when absent), oldest first. */
export async function readRunEvents(redis: Redis, prefix: string, runId: string, afterId?: string): Promise<RunEvent[]> {
  const key = runEventsKey(prefix, runId);
  const events: RunEvent[] = [];
  let start = afterId ? `(${afterId}` : '-';
  for (;;) {
    const page = (await redis.xrange(key, start, '+', 'COUNT', historyPage)) as StreamEntry[];
    events.push(...page.map(entryToEvent));
    if (page.length < historyPage) return events;
    start = `(${page[page.length - 1]![0]}`;
  }
}

interface Subscription {
  cursor: string;
  listener: (events: RunEvent[]) => void;
}

export interface RunEventHubOptions {
  /** Longest wait of one blocking read; bounds how late a newly added run is noticed if a wake-up is missed. */
  blockMs?: number;
}

/**
 * Tails the event streams of many runs over ONE blocking Redis connection per
 * process (`XREAD BLOCK` on all subscribed streams at once), so the number of Redis
 * connections does not grow with the number of SSE clients. The connection is
 * opened with the first subscriber and closed when the last one leaves.
 */
export class RunEventHub {
  readonly #runs = new Map<string, Set<Subscription>>();
  readonly #blockMs: number;
  #reader: Redis | undefined;
  #readerId: number | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: RunEventHubOptions = {},
  ) {
    this.#blockMs = options.blockMs ?? 2000;
  }

  /**
   * Calls `listener` with each batch of events stored after `cursor`, in order,
   * until the returned function is called.
   */
  subscribe(runId: string, cursor: string, listener: (events: RunEvent[]) => void): () => void {
    if (this.#closed) throw new Error('the event hub is closed');
    const subscription: Subscription = { cursor, listener };
    let subscriptions = this.#runs.get(runId);
    if (!subscriptions) this.#runs.set(runId, (subscriptions = new Set()));
    subscriptions.add(subscription);
    this.#loop ??= this.#run();
    void this.#wake();
    return () => {
      const current = this.#runs.get(runId);
      if (!current?.delete(subscription)) return;
      if (current.size === 0) this.#runs.delete(runId);
    };
  }

  get subscriberCount(): number {
    let count = 0;
    for (const subscriptions of this.#runs.values()) count += subscriptions.size;
    return count;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#runs.clear();
    await this.#stopReader();
  }

  async #run(): Promise<void> {
    const reader = this.redis.duplicate();
    this.#reader = reader;
    try {
      this.#readerId = Number(await reader.client('ID'));
      while (this.#reader === reader && this.#runs.size > 0) {
        const runIds = [...this.#runs.keys()];
        const cursors = runIds.map((runId) => this.#minCursor(runId));
        const keys = runIds.map((runId) => runEventsKey(this.prefix, runId));
        let result: [string, StreamEntry[]][] | null;
        try {
          result = (await reader.xread('COUNT', 500, 'BLOCK', this.#blockMs, 'STREAMS', ...keys, ...cursors)) as
            | [string, StreamEntry[]][]
            | null;
        } catch {
          if (this.#reader !== reader) break;
          await new Promise((resolve) => setTimeout(resolve, 500));
          continue;
        }
        for (const [key, entries] of result ?? []) this.#deliver(runIds[keys.indexOf(key)]!, entries.map(entryToEvent));
      }
    } finally {
      if (this.#reader === reader) {
        this.#reader = undefined;
        this.#readerId = undefined;
        this.#loop = undefined;
        reader.disconnect();
        if (this.#runs.size > 0 && !this.#closed) this.#loop = this.#run();
      }
    }
  }

  #deliver(runId: string, events: RunEvent[]): void {
    for (const subscription of this.#runs.get(runId) ?? []) {
      const fresh = events.filter((event) => compareEventIds(event.id, subscription.cursor) > 0);
      if (fresh.length === 0) continue;
      subscription.cursor = fresh[fresh.length - 1]!.id;
      subscription.listener(fresh);
    }
  }

  #minCursor(runId: string): string {
    let min: string | undefined;
    for (const { cursor } of this.#runs.get(runId) ?? []) {
      if (min === undefined || compareEventIds(cursor, min) < 0) min = cursor;
    }
    return min ?? '0-0';
  }

  /** Interrupts the blocking read so the next one includes newly subscribed runs. */
  async #wake(): Promise<void> {
    if (this.#readerId === undefined) return;
    try {
      await this.redis.client('UNBLOCK', this.#readerId);
    } catch {
      // The read ends within blockMs anyway.
    }
  }

  async #stopReader(): Promise<void> {
    const reader = this.#reader;
    const loop = this.#loop;
    this.#reader = undefined;
    this.#readerId = undefined;
    this.#loop = undefined;
    reader?.disconnect();
    await loop?.catch(() => undefined);
  }
}

import { duplicateRedis, type RedisConnection } from '../queue/connection.ts';
import type { Logger } from '../logger.ts';
import { randomUUID } from 'node:crypto';
import { compareEventIds, eventHubWakeKey, runEventsKey } from './keys.ts';
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
export async function readRunEvents(redis: RedisConnection, prefix: string, runId: string, afterId?: string): Promise<RunEvent[]> {
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
  onStreamGone: (() => void) | undefined;
  /** onStreamGone was called and no event has arrived since. */
  goneReported: boolean;
}

export interface SubscribeOptions {
  /**
   * Called once the run's stream no longer exists although this subscriber has read from it
   * (its cursor is past `0-0`): it expired or Redis lost it, and no more events will come.
   * Called again only if events arrive and the stream disappears once more.
   */
  onStreamGone?: () => void;
}

export interface RunEventHubOptions {
  /**
   * Longest wait of one blocking read; bounds how late a newly added run is noticed if a
   * wake-up is missed, and how often the hub looks for streams that have disappeared.
   */
  blockMs?: number;
  /** Where failed reads are reported; the hub keeps trying. */
  logger?: Logger;
}

const hasReadFromStream = (subscription: Subscription) => compareEventIds(subscription.cursor, '0-0') > 0;
const awaitsGoneReport = (subscription: Subscription) =>
  subscription.onStreamGone !== undefined && !subscription.goneReported && hasReadFromStream(subscription);

/**
 * Tails the event streams of many runs over ONE blocking Redis connection per
 * process (`XREAD BLOCK` on all subscribed streams at once), so the number of Redis
 * connections does not grow with the number of SSE clients. The connection is
 * opened with the first subscriber and closed when the last one leaves. A new
 * subscriber wakes the blocked read by adding to the hub's own wake stream, read in the
 * same XREAD (it works alike on one Redis and on a Redis Cluster, where every key of
 * the read shares one slot).
 */
const wakeTtlSeconds = 3600;

export class RunEventHub {
  readonly #runs = new Map<string, Set<Subscription>>();
  readonly #blockMs: number;
  readonly #logger: Logger | undefined;
  #reader: RedisConnection | undefined;
  readonly #wakeKey: string;
  #wakeCursor = '0-0';
  #loop: Promise<void> | undefined;
  #closed = false;
  #nextPresenceCheck = 0;
  /** The runs and cursors of the blocking read in flight (undefined between reads: the next one sees every subscription). */
  #reading: Map<string, string> | undefined;
  /** A wake-up was sent and the read it interrupts has not returned yet. */
  #wakeSent = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    options: RunEventHubOptions = {},
  ) {
    this.#blockMs = options.blockMs ?? 2000;
    this.#logger = options.logger;
    this.#wakeKey = eventHubWakeKey(prefix, randomUUID());
  }

  /**
   * Calls `listener` with each batch of events stored after `cursor`, in order,
   * until the returned function is called.
   */
  subscribe(runId: string, cursor: string, listener: (events: RunEvent[]) => void, options: SubscribeOptions = {}): () => void {
    if (this.#closed) throw new Error('the event hub is closed');
    const subscription: Subscription = { cursor, listener, onStreamGone: options.onStreamGone, goneReported: false };
    let subscriptions = this.#runs.get(runId);
    if (!subscriptions) this.#runs.set(runId, (subscriptions = new Set()));
    subscriptions.add(subscription);
    this.#loop ??= this.#run();
    if (this.#readNeedsWaking(runId, cursor)) void this.#wake();
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

  /** The read loop. Never rejects: a failure is logged, and the loop starts again after a pause. */
  async #run(): Promise<void> {
    const reader = duplicateRedis(this.redis);
    // Connection errors reach the commands below, which log them.
    reader.on('error', () => {});
    this.#reader = reader;
    try {
      while (this.#reader === reader && this.#runs.size > 0) {
        const runIds = [...this.#runs.keys()];
        const cursors = runIds.map((runId) => this.#minCursor(runId));
        const keys = runIds.map((runId) => runEventsKey(this.prefix, runId));
        let result: [string, StreamEntry[]][] | null;
        this.#reading = new Map(runIds.map((runId, i) => [runId, cursors[i]!]));
        try {
          result = (await reader.xread('COUNT', 500, 'BLOCK', this.#blockMs, 'STREAMS', ...keys, this.#wakeKey, ...cursors, this.#wakeCursor)) as
            | [string, StreamEntry[]][]
            | null;
        } catch (error) {
          this.#reading = undefined;
          this.#wakeSent = false;
          if (this.#reader !== reader) break;
          this.#logger?.warn({ err: error }, 'reading run events failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 500));
          continue;
        }
        this.#reading = undefined;
        this.#wakeSent = false;
        for (const [key, entries] of result ?? []) {
          if (key === this.#wakeKey) this.#wakeCursor = entries.at(-1)?.[0] ?? this.#wakeCursor;
          else {
            const i = keys.indexOf(key);
            this.#deliver(runIds[i]!, cursors[i]!, entries.map(entryToEvent));
          }
        }
        // A blocked XREAD is not woken when a stream expires, so look for vanished streams now and then.
        if (Date.now() >= this.#nextPresenceCheck) {
          this.#nextPresenceCheck = Date.now() + this.#blockMs;
          await this.#reportVanishedStreams(reader);
        }
      }
    } catch (error) {
      if (this.#reader === reader) {
        this.#logger?.warn({ err: error }, 'the run event reader failed; restarting it');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      if (this.#reader === reader) {
        this.#reader = undefined;
        this.#loop = undefined;
        reader.disconnect();
        if (this.#runs.size > 0 && !this.#closed) this.#loop = this.#run();
      }
    }
  }

  /** A subscription that came with a cursor older than the read's (`readAfter`) gets its events from the next read. */
  #deliver(runId: string, readAfter: string, events: RunEvent[]): void {
    for (const subscription of this.#runs.get(runId) ?? []) {
      // Most subscribers are where the read started: they all get the same array.
      const fresh =
        subscription.cursor === readAfter
          ? events
          : compareEventIds(subscription.cursor, readAfter) < 0
            ? []
            : events.filter((event) => compareEventIds(event.id, subscription.cursor) > 0);
      if (fresh.length === 0) continue;
      subscription.cursor = fresh[fresh.length - 1]!.id;
      subscription.goneReported = false;
      subscription.listener(fresh);
    }
  }

  async #reportVanishedStreams(reader: RedisConnection): Promise<void> {
    const watched = [...this.#runs].filter(([, subscriptions]) => [...subscriptions].some(awaitsGoneReport)).map(([runId]) => runId);
    if (watched.length === 0) return;
    const pipeline = reader.pipeline();
    for (const runId of watched) pipeline.exists(runEventsKey(this.prefix, runId));
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch {
      return;
    }
    watched.forEach((runId, i) => {
      const [error, exists] = results?.[i] ?? [null, 1];
      if (error || exists !== 0) return;
      for (const subscription of this.#runs.get(runId) ?? []) {
        if (!awaitsGoneReport(subscription)) continue;
        subscription.goneReported = true;
        subscription.onStreamGone!();
      }
    });
  }

  #minCursor(runId: string): string {
    let min: string | undefined;
    for (const { cursor } of this.#runs.get(runId) ?? []) {
      if (min === undefined || compareEventIds(cursor, min) < 0) min = cursor;
    }
    return min ?? '0-0';
  }

  /**
   * Whether a new subscription of `runId` after `cursor` needs the blocking read interrupted:
   * not when that read already covers it (same run, from that cursor or before), nor when a
   * wake-up is already on its way. A thousand clients connecting at once cost a few re-reads.
   */
  #readNeedsWaking(runId: string, cursor: string): boolean {
    if (!this.#reading || this.#wakeSent) return false;
    const reading = this.#reading.get(runId);
    if (reading !== undefined && compareEventIds(reading, cursor) <= 0) return false;
    this.#wakeSent = true;
    return true;
  }

  /** Interrupts the blocking read so the next one includes newly subscribed runs. */
  async #wake(): Promise<void> {
    try {
      await this.redis
        .multi()
        .xadd(this.#wakeKey, 'MAXLEN', '1', '*', 'w', '1')
        .expire(this.#wakeKey, wakeTtlSeconds)
        .exec();
    } catch {
      // The read ends within blockMs anyway.
    }
  }

  async #stopReader(): Promise<void> {
    const reader = this.#reader;
    const loop = this.#loop;
    this.#reader = undefined;
    this.#loop = undefined;
    reader?.disconnect();
    await loop?.catch(() => undefined);
    await this.redis.del(this.#wakeKey).catch(() => undefined);
  }
}

import type { RedisConnection } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { DeltaPace } from './delta-pace.ts';
import { nextEventId, runEventsKey, splitEventId } from './keys.ts';
import { readRunEvents } from './replay.ts';
import { terminalEvents, type DeltaProgress, type RunEvent, type RunEventMap, type RunEventType } from './types.ts';
import { StreamedText } from '../text/streamed-text.ts';
import { EventWrites } from './writes.ts';

export interface EventStreamSettings {
  /** Upper bound on entries kept per run (approximate trimming). */
  maxLength: number;
  /**
   * How long a run's events stay in Redis after its terminal event: long enough for live
   * subscribers to read the tail and for a client to reconnect; later, Postgres answers.
   */
  retentionSeconds: number;
  /** Safety TTL while a run is in flight, so a stream whose run never ends still goes away. */
  activeTtlSeconds: number;
  /**
   * Fragments that arrive together (in one read of the provider's answer) are written as one delta. Up to
   * `deltaBurst` deltas are written at once within any `deltaIntervalMs`; fragments beyond
   * that are gathered and written together when the interval ends. So a delta waits only
   * when a step streams faster than `deltaBurst` writes per interval.
   */
  deltaIntervalMs: number;
  deltaBurst: number;
  /**
   * Delta writes a second that all the runs of one process should stay near: past it, each
   * run's interval lengthens (see DeltaPace).
   */
  maxDeltaWritesPerSecond: number;
}

export const defaultEventStreamSettings: EventStreamSettings = {
  maxLength: 10_000,
  retentionSeconds: 10,
  activeTtlSeconds: 7 * 24 * 3600,
  deltaIntervalMs: 30,
  deltaBurst: 3,
  maxDeltaWritesPerSecond: 2000,
};

/** The settings a process configured with `config` writes run events with. */
export function eventStreamSettings(config: Pick<Config, 'RUN_EVENTS_RETENTION_SECONDS' | 'RUN_MAX_DURATION_SECONDS'>): EventStreamSettings {
  return {
    ...defaultEventStreamSettings,
    retentionSeconds: config.RUN_EVENTS_RETENTION_SECONDS,
    activeTtlSeconds: config.RUN_MAX_DURATION_SECONDS + config.RUN_EVENTS_RETENTION_SECONDS,
  };
}

/** A run waiting for an approval without a timeout keeps its events this long (30 days). */
const waitingTtlSeconds = 30 * 24 * 3600;

/** Events but deltas a stream keeps in memory for the run's history; beyond it, the history is read back from Redis. */
const MAX_KEPT_HISTORY = 500;

/**
 * Writes one run's events to its Redis Stream. Stream entry ids increase within
 * the run (also across workers that take the run over) and are the SSE event ids.
 *
 * Events are sent in call order on one connection, so no await is needed between
 * them; pending deltas are always written before the next other event.
 * Publishing is best effort: Postgres holds the truth, a lost event never fails a run.
 */
/** The step's usage and cost so far, to send with a delta; undefined when there is nothing new to send. */
export type DeltaProgressSource = () => DeltaProgress | undefined;

export class RunEventStream {
  readonly #key: string;
  #pendingDelta: { index: number; text: string; progress: DeltaProgressSource | undefined } | undefined;
  #deltaTimer: NodeJS.Timeout | undefined;
  #deltaQueued = false;
  #windowStart = Number.NEGATIVE_INFINITY;
  #writesInWindow = 0;
  #ttlSet = false;
  #last: Promise<unknown> = Promise.resolve();
  /** The id of the latest entry written. */
  #lastId: string | undefined;
  readonly #history: (Omit<RunEvent, 'id'> & { id: string | null })[] = [];
  #historyOverflowed = false;
  /** The text streamed so far by the latest step (cleared when it streams again from the start). */
  #streamed: { index: number; text: StreamedText } | undefined;

  #lastFragmentSecond = 0;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    readonly runId: string,
    private readonly settings: EventStreamSettings,
    private readonly logger: Logger,
    private readonly pace: DeltaPace = new DeltaPace(settings.deltaIntervalMs, settings.maxDeltaWritesPerSecond),
    private readonly writes: EventWrites = new EventWrites(redis),
  ) {
    this.#key = runEventsKey(prefix, runId);
  }

  /**
   * `id`: the entry id to write the event with (one `reserveId` gave); if the stream has moved
   * past it meanwhile, the event gets the next id Redis gives, as any other.
   */
  emit<T extends Exclude<RunEventType, 'step.delta'>>(type: T, data: RunEventMap[T], id?: string): Promise<void> {
    this.#flushDelta();
    if (type === 'step.retry' && this.#streamed?.index === (data as { index: number }).index) this.#streamed = undefined;
    const terminal = (terminalEvents as readonly string[]).includes(type);
    this.#append(type, data, terminal ? this.settings.retentionSeconds : undefined, id);
    return this.settled();
  }

  /**
   * An id for the next event, chosen before it is written (after every write so far is in):
   * the run's end is stored in Postgres with its terminal event's id, in the statement that
   * ends it. Undefined when this stream has written nothing.
   */
  async reserveId(): Promise<string | undefined> {
    await this.settled();
    if (this.#lastId === undefined) return undefined;
    const [ms] = splitEventId(this.#lastId);
    const now = BigInt(Date.now());
    return now > ms ? `${now}-0` : nextEventId(this.#lastId);
  }

  /**
   * Adds a text fragment of a streaming step; fragments arriving in quick succession are
   * coalesced. `progress` is asked, when the delta is written, for the step's usage and cost
   * so far to send with it (it may have nothing new to say).
   */
  delta(index: number, text: string, progress?: DeltaProgressSource): void {
    if (text === '') return;
    this.#lastFragmentSecond = this.pace.fragment(this.#lastFragmentSecond, Date.now());
    if (this.#streamed?.index !== index) this.#streamed = { index, text: new StreamedText() };
    this.#streamed.text.append(text);
    if (this.#pendingDelta && this.#pendingDelta.index !== index) this.#writePendingDelta();
    if (this.#pendingDelta) {
      this.#pendingDelta.text += text;
      this.#pendingDelta.progress = progress;
    } else this.#pendingDelta = { index, text, progress };
    // A pending pace timer writes what gathers meanwhile: nothing to schedule for each fragment.
    if (!this.#deltaQueued && !this.#deltaTimer) {
      this.#deltaQueued = true;
      // At the end of this turn (the provider's read whose fragments are being applied): the delta then
      // leaves as EventWrites decides, at once when Redis keeps up, else with the iteration's other events.
      process.nextTick(() => {
        this.#deltaQueued = false;
        this.#writeDeltaIfAllowed();
      });
    }
  }

  #writeDeltaIfAllowed(): void {
    if (!this.#pendingDelta || this.#deltaTimer) return;
    const now = performance.now();
    const intervalMs = this.pace.intervalMs();
    if (now - this.#windowStart >= intervalMs) {
      this.#windowStart = now;
      this.#writesInWindow = 0;
    }
    if (this.#writesInWindow < (this.pace.paced() ? 1 : this.settings.deltaBurst)) {
      this.#writesInWindow += 1;
      this.#writePendingDelta();
      return;
    }
    this.#deltaTimer = setTimeout(() => {
      this.#deltaTimer = undefined;
      this.#writeDeltaIfAllowed();
    }, this.#windowStart + intervalMs - now);
  }

  #writePendingDelta(): void {
    const pending = this.#pendingDelta;
    this.#pendingDelta = undefined;
    if (!pending) return;
    const progress = pending.progress?.();
    this.#append('step.delta', progress ? { index: pending.index, text: pending.text, ...progress } : { index: pending.index, text: pending.text });
  }

  /**
   * The run waits for a person until `until` (null: no timeout): its events stay in Redis for
   * the wait and an active run's TTL after it, so that the history clients saw before the wait
   * is still there, with its ids, when the run resumes and ends.
   */
  keepWhileWaiting(until: Date | null, now: Date): void {
    const seconds =
      until === null
        ? Math.max(waitingTtlSeconds, this.settings.activeTtlSeconds)
        : Math.ceil(Math.max(0, until.getTime() - now.getTime()) / 1000) + this.settings.activeTtlSeconds;
    const kept = this.writes.expire(this.#key, seconds).catch((error: unknown) => {
      this.logger.warn({ err: error, runId: this.runId }, 'could not keep a waiting run’s events');
    });
    this.#last = Promise.all([this.#last, kept]).then(() => undefined);
  }

  /** Every event of the run's stream but the deltas, read back from Redis once what was emitted here is in. */
  async readBack(): Promise<RunEvent[]> {
    await this.settled();
    return (await readRunEvents(this.redis, this.prefix, this.runId)).filter((event) => event.type !== 'step.delta');
  }

  /** What step `index` has streamed so far (since its last retry), if it streamed anything. */
  streamedText(index: number): string | undefined {
    return this.#streamed?.index === index ? this.#streamed.text.toString() : undefined;
  }

  /** Resolves once everything emitted so far has reached Redis (or failed and been logged). */
  async settled(): Promise<void> {
    this.#flushDelta();
    await this.#last;
  }

  #flushDelta(): void {
    if (this.#deltaTimer) clearTimeout(this.#deltaTimer);
    this.#deltaTimer = undefined;
    this.#writePendingDelta();
  }

  /**
   * The events this stream wrote, but the deltas, with the ids Redis gave them (once written):
   * the run's history as clients saw it, when this stream saw the run from its start.
   */
  history(): RunEvent[] | undefined {
    if (this.#historyOverflowed) return undefined;
    return this.#history.filter((event): event is RunEvent => event.id !== null);
  }

  #append(type: RunEventType, data: unknown, expireSeconds?: number, id?: string): void {
    const fields = ['type', type, 'data', JSON.stringify(data)];
    const add = (entryId: string) => this.writes.xadd(this.#key, this.settings.maxLength, entryId, fields);
    const added = (id === undefined ? add('*') : add(id).catch((error: unknown) => (isIdTooSmall(error) ? add('*') : Promise.reject(error)))).then((entryId) => {
      if (entryId) this.#lastId = entryId;
      return entryId;
    });
    if (type !== 'step.delta' && !this.#historyOverflowed && this.#history.length >= MAX_KEPT_HISTORY) {
      // A long run's history is read back from Redis at its end instead: memory stays flat.
      this.#historyOverflowed = true;
      this.#history.length = 0;
    }
    if (type !== 'step.delta' && !this.#historyOverflowed) {
      const event = { id: null as string | null, type, data } as Omit<RunEvent, 'id'> & { id: string | null };
      this.#history.push(event);
      void added.then((id) => (event.id = id), () => undefined);
    }
    const commands: Promise<unknown>[] = [added];
    if (expireSeconds !== undefined) {
      commands.push(this.writes.expire(this.#key, expireSeconds));
      this.#ttlSet = true;
    } else if (!this.#ttlSet) {
      commands.push(this.writes.expire(this.#key, this.settings.activeTtlSeconds));
      this.#ttlSet = true;
    }
    const written = Promise.all(commands).catch((error: unknown) => {
      this.logger.warn({ err: error, runId: this.runId, event: type }, 'could not publish a run event');
    });
    // Commands on one connection complete in order, so the newest write settling means all
    // before it did: holding only that one keeps memory flat however many events a run emits.
    this.#last = written;
  }
}

/** XADD refused an id that is not after the stream's last one (someone else wrote to it meanwhile). */
const isIdTooSmall = (error: unknown) => error instanceof Error && /equal or smaller than the target stream top item/.test(error.message);

/** Creates one `RunEventStream` per run execution. */
export class RunEventPublisher {
  /** Shared by the streams of this process: how many of its runs stream sets each one's pace. */
  readonly #pace: DeltaPace;
  /** Shared by the streams of this process: their events go to Redis together when the process is busy (see EventWrites). */
  readonly #writes: EventWrites;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly settings: EventStreamSettings = defaultEventStreamSettings,
  ) {
    this.#pace = new DeltaPace(settings.deltaIntervalMs, settings.maxDeltaWritesPerSecond);
    this.#writes = new EventWrites(redis);
  }

  /** Sends the events waiting for the end of the event-loop iteration now (before the connection closes). */
  flush(): void {
    this.#writes.flush();
  }

  forRun(runId: string): RunEventStream {
    return new RunEventStream(this.redis, this.prefix, runId, this.settings, this.logger, this.#pace, this.#writes);
  }
}

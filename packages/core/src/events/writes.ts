import type { ChainableCommander } from 'ioredis';
import type { RedisConnection } from '../queue/connection.ts';

interface Waiting {
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/** Commands past which a batch goes at once. */
const MAX_BATCH = 512;

/**
 * The event commands of all the runs of a process, sent in as few writes as keep them on time.
 * A command given while Redis has answered everything sent goes at the end of its tick, as a
 * command of its own would. One given while a batch is unanswered (the process is busy, or Redis
 * is) waits for the end of the event-loop iteration, and goes with every other given meanwhile,
 * of any run, as one pipeline: one write to the socket and one read for Redis, not one each.
 *
 * Unlike ioredis's auto-pipelining, which sends a connection's next batch only once the
 * previous one is answered, nothing waits for a reply: a delta never waits for the replies to
 * other runs' events. Batches go in order on one connection, so Redis applies the commands in
 * the order they were given; event keys share the queue's hash tag, so a batch is one cluster slot.
 */
export class EventWrites {
  #pipeline: ChainableCommander | undefined;
  #waiting: Waiting[] = [];
  /** Batches sent and not answered yet. */
  #unanswered = 0;
  #endOfTick = false;
  #endOfIteration: NodeJS.Immediate | undefined;
  readonly #send = () => this.flush();

  constructor(private readonly redis: RedisConnection) {}

  xadd(key: string, maxLength: number, id: string, fields: string[]): Promise<string | null> {
    return this.#add((pipeline) => pipeline.xadd(key, 'MAXLEN', '~', maxLength, id, ...fields));
  }

  expire(key: string, seconds: number): Promise<number> {
    return this.#add((pipeline) => pipeline.expire(key, seconds));
  }

  /** Sends what is waiting now (before the connection closes). */
  flush(): void {
    this.#endOfTick = false;
    clearImmediate(this.#endOfIteration);
    this.#endOfIteration = undefined;
    const pipeline = this.#pipeline;
    const waiting = this.#waiting;
    if (!pipeline) return;
    this.#pipeline = undefined;
    this.#waiting = [];
    this.#unanswered += 1;
    void pipeline
      .exec()
      .finally(() => (this.#unanswered -= 1))
      .then(
        (replies) =>
          waiting.forEach((command, i) => {
            const [error, reply] = replies?.[i] ?? [new Error('Redis did not answer the command')];
            if (error) command.reject(error);
            else command.resolve(reply);
          }),
        (error: unknown) => waiting.forEach((command) => command.reject(error)),
      );
  }

  #add<T>(command: (pipeline: ChainableCommander) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      command((this.#pipeline ??= this.redis.pipeline()));
      this.#waiting.push({ resolve: resolve as (reply: unknown) => void, reject });
      if (this.#waiting.length >= MAX_BATCH) this.flush();
      else if (this.#endOfTick || this.#endOfIteration) return; // it joins the batch already due
      else if (this.#unanswered > 0) this.#endOfIteration = setImmediate(this.#send);
      else {
        this.#endOfTick = true;
        process.nextTick(this.#send);
      }
    });
  }
}

import { duplicateRedis, type RedisConnection } from '@conveyor/core';
import type { Logger } from '@conveyor/core';
import { cancelChannel } from '@conveyor/core';

/**
 * Aborts the in-flight execution of a run when the API publishes its id on the
 * cancel channel. After a reconnect (messages may have been missed meanwhile),
 * `onResubscribed` lets the caller re-check the runs it holds.
 */
export class CancelListener {
  readonly #subscriber: RedisConnection;
  readonly #channel: string;

  constructor(
    redis: RedisConnection,
    prefix: string,
    private readonly onCancel: (runId: string) => void,
    private readonly logger: Logger,
    private readonly onResubscribed?: () => Promise<void> | void,
  ) {
    this.#subscriber = duplicateRedis(redis);
    this.#channel = cancelChannel(prefix);
  }

  async start(): Promise<void> {
    this.#subscriber.on('message', (channel: string, runId: string) => {
      if (channel === this.#channel) this.onCancel(runId);
    });
    let subscribed = false;
    this.#subscriber.on('ready', () => {
      if (subscribed) {
        this.logger.info('cancel channel reconnected');
        void this.onResubscribed?.();
      }
    });
    await this.#subscriber.subscribe(this.#channel);
    subscribed = true;
  }

  async close(): Promise<void> {
    this.#subscriber.disconnect();
  }
}

import { describe, expect, it } from 'vitest';
import { createLogger } from '../../logger.ts';
import { RunInterruptedError } from '../../pipeline/errors.ts';
import { untilWritten } from './infrastructure.ts';

const logger = createLogger({ level: 'silent' });
const unreachable = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

describe('untilWritten', () => {
  it('writes again after Postgres was unreachable, and returns what the write returned', async () => {
    let calls = 0;
    const written = await untilWritten(
      async () => {
        if (++calls < 3) throw unreachable();
        return 'stored';
      },
      new AbortController().signal,
      logger,
      { firstDelayMs: 1 },
    );
    expect(written).toBe('stored');
    expect(calls).toBe(3);
  });

  it('throws a statement error at once', async () => {
    let calls = 0;
    const wrong = Object.assign(new Error('column "x" does not exist'), { code: '42703' });
    await expect(untilWritten(async () => (calls++, Promise.reject(wrong)), new AbortController().signal, logger)).rejects.toBe(wrong);
    expect(calls).toBe(1);
  });

  it('gives up in the middle of a long wait when the worker shuts down', async () => {
    const controller = new AbortController();
    const writing = untilWritten(
      async () => {
        // Aborted once the first attempt failed: the retry is then an hour away.
        queueMicrotask(() => controller.abort('shutdown'));
        throw unreachable();
      },
      controller.signal,
      logger,
      { firstDelayMs: 3_600_000 },
    );
    await expect(writing).rejects.toEqual(new RunInterruptedError('shutdown'));
  });

  it('keeps writing through a cancel: the answer is stored before the run ends canceled', async () => {
    const controller = new AbortController();
    let calls = 0;
    const written = await untilWritten(
      async () => {
        calls++;
        if (calls === 1) {
          controller.abort('canceled');
          throw unreachable();
        }
        return 'stored';
      },
      controller.signal,
      logger,
      { firstDelayMs: 1 },
    );
    expect(written).toBe('stored');
    expect(calls).toBe(2);
  });
});

import type { Logger } from '../../logger.ts';
import { RunInterruptedError, abortReason } from '../../pipeline/errors.ts';

/** Postgres SQLSTATEs of an unreachable or restarting server: the statement may work once it is back. */
const transientSqlStates = new Set(['57P01', '57P02', '57P03', '53300', '53400']);
const transientNodeCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const transientMessages = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /is not currently accepting connections/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

/**
 * Whether `error` says that Postgres (or the network to it) is unavailable, rather than that
 * the statement itself is wrong: such a failure is waited out, not counted against the run.
 */
export function isInfrastructureError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && (transientSqlStates.has(code) || code.startsWith('08') || transientNodeCodes.has(code))) return true;
    if (typeof message === 'string' && transientMessages.some((pattern) => pattern.test(message))) return true;
    current = cause;
  }
  return false;
}

export interface UntilWrittenOptions {
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Writes what a run has already paid for (a provider's answer) until Postgres takes it:
 * infrastructure failures are retried with capped exponential backoff for as long as this
 * process holds the run; any other error is thrown at once. The write must be idempotent.
 */
export async function untilWritten<T>(write: () => Promise<T>, signal: AbortSignal, logger: Logger, options: UntilWrittenOptions = {}): Promise<T> {
  let delayMs = options.firstDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isInfrastructureError(error)) throw error;
      throwIfGivenUp(signal);
      logger.warn({ err: error, attempt, retryInMs: delayMs }, 'Postgres unavailable: keeping the answer and writing it again');
      // A cancel or a timeout does not end the wait (it is written once Postgres is back); a shutdown does, at once.
      await pauseUnlessGivenUp(delayMs, signal);
      throwIfGivenUp(signal);
      delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 5000);
    }
  }
}

/** Only giving the run up (shutdown, lost lock) stops the retries. */
function throwIfGivenUp(signal: AbortSignal): void {
  const reason = signal.aborted ? abortReason(signal) : undefined;
  if (reason === 'shutdown' || reason === 'lost') throw new RunInterruptedError(reason);
}

/** Waits `ms`, or less if `signal` aborts for a shutdown or a lost lock meanwhile. */
function pauseUnlessGivenUp(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      const reason = abortReason(signal);
      if (reason === 'shutdown' || reason === 'lost') done();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', onAbort);
  });
}

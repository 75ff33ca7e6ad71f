import { queuePrefix } from '../queue/names.ts';

/**
 * The Redis Stream that keeps one run's events (history for late subscribers, live tail for
 * everyone). Under the prefix's `{…}` hash tag: one XREAD reads many runs' streams, which on a
 * Redis Cluster must all be in one slot.
 */
export function runEventsKey(prefix: string, runId: string): string {
  return `${queuePrefix(prefix)}:events:${runId}`;
}

/** A stream an event hub reads beside the runs' streams; adding to it wakes the hub's blocked read. */
export function eventHubWakeKey(prefix: string, hubId: string): string {
  return `${queuePrefix(prefix)}:events-wake:${hubId}`;
}

/** Stream entry ids (`<ms>-<seq>`) compared as numbers; they are the SSE event ids. */
export function compareEventIds(a: string, b: string): number {
  const [aMs, aSeq] = splitId(a);
  const [bMs, bSeq] = splitId(b);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

/** Whether `id` has the shape of a stream entry id (a client's Last-Event-ID is untrusted input). */
export function isEventId(id: string): boolean {
  return /^\d{1,20}-\d{1,20}$/.test(id);
}

/** The id right after `id`: the id of an event the API adds after the last one a client has. */
export function nextEventId(id: string): string {
  const [ms, seq] = splitId(id);
  return `${ms}-${seq + 1n}`;
}

/**
 * Whether `id` is one of the ids given to a history rebuilt from Postgres (`0-1`, `0-2`, ...),
 * rather than a stream entry id.
 */
export function isDatabaseEventId(id: string): boolean {
  return splitId(id)[0] === 0n;
}

function splitId(id: string): [bigint, bigint] {
  const [ms = '0', seq = '0'] = id.split('-');
  return [BigInt(ms), BigInt(seq)];
}

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

/**
 * Stream entry ids (`<ms>-<seq>`) compared as numbers, digit by digit: no number is built (an
 * event hub compares ids for every subscriber on every read, and milliseconds with a sequence
 * number can exceed what a double holds exactly).
 */
export function compareEventIds(a: string, b: string): number {
  if (a === b) return 0;
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const byMs = comparePart(a, 0, aDash < 0 ? a.length : aDash, b, 0, bDash < 0 ? b.length : bDash);
  if (byMs !== 0) return byMs;
  return comparePart(a, aDash < 0 ? a.length : aDash + 1, a.length, b, bDash < 0 ? b.length : bDash + 1, b.length);
}

/** Compares the decimal integers a[aStart, aEnd) and b[bStart, bEnd); without their leading zeros, the longer is larger. */
function comparePart(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
  while (aStart < aEnd && a.charCodeAt(aStart) === 48) aStart++;
  while (bStart < bEnd && b.charCodeAt(bStart) === 48) bStart++;
  const aLength = aEnd - aStart;
  if (aLength !== bEnd - bStart) return aLength < bEnd - bStart ? -1 : 1;
  for (let i = 0; i < aLength; i++) {
    const difference = a.charCodeAt(aStart + i) - b.charCodeAt(bStart + i);
    if (difference !== 0) return difference < 0 ? -1 : 1;
  }
  return 0;
}

/** Whether `id` has the shape of a stream entry id (a client's Last-Event-ID is untrusted input). */
export function isEventId(id: string): boolean {
  return /^\d{1,20}-\d{1,20}$/.test(id);
}

/** The id right after `id`: the id of an event the API adds after the last one a client has. */
export function nextEventId(id: string): string {
  const [ms, seq] = splitEventId(id);
  return `${ms}-${seq + 1n}`;
}

/**
 * Whether `id` is one of the ids given to a history rebuilt from Postgres (`0-1`, `0-2`, ...),
 * rather than a stream entry id.
 */
export function isDatabaseEventId(id: string): boolean {
  return splitEventId(id)[0] === 0n;
}

/** An entry id's milliseconds and sequence number. */
export function splitEventId(id: string): [bigint, bigint] {
  const [ms = '0', seq = '0'] = id.split('-');
  return [BigInt(ms), BigInt(seq)];
}

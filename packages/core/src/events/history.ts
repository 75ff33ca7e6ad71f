import { compareEventIds } from './keys.ts';
import type { RunEvent } from './types.ts';

/**
 * One history from several partial copies of a run's events (what Postgres kept at a pause,
 * what its Redis stream still holds): each event once, by id, in id order. Ids are the ones
 * clients saw live, so a copy that lost its oldest entries (a stream that expired during a long
 * wait) is completed by another without renumbering anything.
 */
export function mergeEventHistories(...copies: RunEvent[][]): RunEvent[] {
  const byId = new Map<string, RunEvent>();
  for (const copy of copies) for (const event of copy) if (!byId.has(event.id)) byId.set(event.id, event);
  return [...byId.values()].sort((a, b) => compareEventIds(a.id, b.id));
}

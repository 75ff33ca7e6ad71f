import { mergeEventHistories } from '../../events/history.ts';
import type { RunEventStream } from '../../events/publish.ts';
import type { RunEvent } from '../../events/types.ts';
import type { RunStore } from './store.ts';

/**
 * A run's history as its clients saw it, deltas aside: what Postgres kept at its last pause
 * (a stream may expire during a long wait) and what its Redis stream holds now, by id.
 */
export async function runHistory(store: RunStore, stream: RunEventStream): Promise<RunEvent[]> {
  const [kept, live] = await Promise.all([store.keptEvents(stream.runId), stream.readBack()]);
  return mergeEventHistories(kept, live);
}

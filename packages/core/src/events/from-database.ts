import type { RunModel as Run, RunStepModel as RunStep } from '../db/client.ts';
import type { RunError } from '../pipeline/errors.ts';
import { stepOutputValue } from '../runs/step-output.ts';
import { compareEventIds, isDatabaseEventId, nextEventId } from './keys.ts';
import type { RunEvent, RunEventMap, RunEventType } from './types.ts';

export type StoredRun = Run & { steps: RunStep[]; artifact: { id: string } | null; eventHistory?: { events: unknown } | null };

/** What to include when loading a run for `eventsFromDatabase`. */
export const storedRunInclude = { steps: true, artifact: { select: { id: true } }, eventHistory: { select: { events: true } } } as const;

const usageOf = (row: { inputTokens: number; outputTokens: number }) => ({ inputTokens: row.inputTokens, outputTokens: row.outputTokens });
const costOf = (row: { cost: { toFixed(): string } | null }) => (row.cost === null ? null : row.cost.toFixed());

/** The terminal event of an ended run, rebuilt from Postgres. */
/** What the terminal event of a run is made of. */
export type RunEndRow = Pick<StoredRun, 'id' | 'status' | 'output' | 'error' | 'inputTokens' | 'outputTokens' | 'cost' | 'artifact'>;

export function terminalEventData(run: RunEndRow): { type: RunEventType; data: RunEventMap[RunEventType] } | undefined {
  switch (run.status) {
    case 'succeeded':
      return {
        type: 'run.succeeded',
        data: { runId: run.id, output: run.output, usage: usageOf(run), cost: costOf(run), artifactId: run.artifact?.id ?? '' },
      };
    case 'failed':
      return { type: 'run.failed', data: { runId: run.id, error: (run.error ?? { code: 'unknown', message: 'the run failed' }) as unknown as RunError } };
    case 'canceled':
      return { type: 'run.canceled', data: { runId: run.id } };
    default:
      return undefined;
  }
}

/** The events the run kept when it ended: every one but `step.delta`, with its live id. */
function keptHistory(run: StoredRun): RunEvent[] | undefined {
  const events = run.eventHistory?.events;
  return Array.isArray(events) && events.length > 0 ? (events as RunEvent[]) : undefined;
}

/**
 * The history of an ended run from Postgres, for when its Redis stream has expired: the
 * events it kept when it ended (every one but the deltas, with the ids they had live). A run
 * that kept none (it ended before history was kept) has it rebuilt from its steps, with ids
 * `0-1`, `0-2`, ... (they sort before any real stream id).
 */
export function eventsFromDatabase(run: StoredRun): RunEvent[] {
  const kept = keptHistory(run);
  if (kept) return kept;
  const events: { type: RunEventType; data: RunEventMap[RunEventType] }[] = [];
  if (run.startedAt) events.push({ type: 'run.started', data: { runId: run.id, startedAt: run.startedAt.toISOString() } });
  for (const step of [...run.steps].sort((a, b) => a.index - b.index)) {
    if (!step.startedAt) continue;
    if (step.type === 'approval') {
      if (step.status === 'succeeded') {
        events.push({ type: 'step.completed', data: { index: step.index, output: step.output ?? '', usage: usageOf(step), cost: costOf(step) } });
      }
      continue;
    }
    events.push({
      type: 'step.started',
      data: { index: step.index, agentId: step.agentId ?? '', provider: step.provider ?? '', model: step.model ?? '' },
    });
    for (const message of step.warnings) events.push({ type: 'step.warning', data: { index: step.index, message } });
    if (step.status === 'succeeded') {
      events.push({
        type: 'step.completed',
        data: { index: step.index, output: stepOutputValue(step) ?? '', usage: usageOf(step), cost: costOf(step), timeToFirstTokenMs: step.firstTokenMs },
      });
    }
  }
  const terminal = terminalEventData(run);
  if (terminal) events.push(terminal);
  return events.map((event, i) => ({ id: `0-${i + 1}`, ...event }) as RunEvent);
}

/**
 * What a client holding every event up to `afterId` (none when absent) still needs from an
 * ended run whose stream cannot supply it (expired, or never written): the history rebuilt
 * from Postgres after `afterId` when the client's ids came from that history, otherwise only
 * the terminal event, with the id right after `afterId` (which events came between `afterId`
 * and the end can no longer be told). Empty while the run has not ended.
 */
export function eventsFromDatabaseAfter(run: StoredRun, afterId?: string): RunEvent[] {
  const terminal = terminalEventData(run);
  if (!terminal) return [];
  const kept = keptHistory(run);
  if (kept) return eventsAfter(kept, afterId);
  if (afterId === undefined || isDatabaseEventId(afterId)) return eventsAfter(eventsFromDatabase(run), afterId);
  return [{ id: nextEventId(afterId), ...terminal } as RunEvent];
}

/**
 * What a run that has not ended kept of its history in Postgres (at its last pause: a waiting
 * run whose Redis stream expired during the wait) after `afterId`; empty when it kept none.
 */
export function keptEventsAfter(run: StoredRun, afterId?: string): RunEvent[] {
  return eventsAfter(keptHistory(run) ?? [], afterId);
}

const eventsAfter = (events: RunEvent[], afterId: string | undefined) =>
  afterId === undefined ? events : events.filter((event) => compareEventIds(event.id, afterId) > 0);

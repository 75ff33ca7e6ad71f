import { describe, expect, it } from 'vitest';
import { mergeEventHistories } from './history.ts';
import type { RunEvent } from './types.ts';

const event = (id: string, type: RunEvent['type']) => ({ id, type, data: {} }) as RunEvent;

describe('mergeEventHistories', () => {
  it('completes a copy that lost its oldest events with one that kept them: each event once, in id order', () => {
    const keptAtPause = [event('1700000000000-0', 'run.started'), event('1700000000000-1', 'step.started'), event('1700000000500-0', 'run.waiting')];
    const streamAfterResume = [event('1700000999000-0', 'step.completed'), event('1700000999000-1', 'run.succeeded')];
    expect(mergeEventHistories(keptAtPause, streamAfterResume).map((e) => e.type)).toEqual([
      'run.started',
      'step.started',
      'run.waiting',
      'step.completed',
      'run.succeeded',
    ]);
  });

  it('keeps one of each id when the copies overlap, and orders ids numerically (not as text)', () => {
    const kept = [event('999-0', 'run.started'), event('1000-0', 'run.waiting')];
    const stream = [event('1000-0', 'run.waiting'), event('1000-10', 'step.completed'), event('1000-9', 'step.started')];
    expect(mergeEventHistories(kept, stream).map((e) => e.id)).toEqual(['999-0', '1000-0', '1000-9', '1000-10']);
  });
});

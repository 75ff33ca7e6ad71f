import { describe, expect, it } from 'vitest';
import type { RunEvent } from '@conveyor/core';
import { sseFrame, sseFrames } from './sse-frame.ts';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const delta: RunEvent = { id: '1700000000000-0', type: 'step.delta', data: { index: 0, text: 'Hello' } } as RunEvent;
const completed: RunEvent = { id: '1700000000000-1', type: 'step.completed', data: { index: 0, output: 'Hello' } } as RunEvent;

describe('SSE frames', () => {
  it('writes an event as event, data and id lines', () => {
    expect(text(sseFrame(delta))).toBe('event: step.delta\ndata: {"index":0,"text":"Hello"}\nid: 1700000000000-0\n\n');
  });

  it('joins several events into one chunk, in order', () => {
    expect(text(sseFrames([delta, completed]))).toBe(text(sseFrame(delta)) + text(sseFrame(completed)));
  });

  it('joins the events of one batch once, however many clients it is written to', () => {
    const batch = [delta, completed];
    expect(sseFrames(batch)).toBe(sseFrames(batch));
    expect(sseFrames([delta, completed])).not.toBe(sseFrames(batch));
  });
});

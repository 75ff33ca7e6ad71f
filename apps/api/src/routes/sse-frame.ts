import type { RunEvent } from '@conveyor/core';

const frames = new WeakMap<RunEvent, Uint8Array>();
const encoder = new TextEncoder();

/**
 * A run event as a Server-Sent Events frame (the layout of Hono's `writeSSE`: event, data, id),
 * formatted and encoded once however many clients of this process follow the run: the event
 * hub hands every subscriber the same event objects.
 */
export function sseFrame(event: RunEvent): Uint8Array {
  let frame = frames.get(event);
  if (frame === undefined) {
    // JSON text holds no raw line break, so the data is one `data:` line.
    frame = encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\nid: ${event.id}\n\n`);
    frames.set(event, frame);
  }
  return frame;
}

/** Several events' frames as one chunk: a client that fell behind gets them in one write. */
export function sseFrames(events: RunEvent[]): Uint8Array {
  if (events.length === 1) return sseFrame(events[0]!);
  const parts = events.map(sseFrame);
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

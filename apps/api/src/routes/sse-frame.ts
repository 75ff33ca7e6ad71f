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

const joinedFrames = new WeakMap<readonly RunEvent[], Uint8Array>();

/**
 * Several events' frames as one chunk: a client that fell behind gets them in one write. Joined
 * once per array: the hub hands every subscriber at the read's cursor the same array (a run's
 * end, its last delta and terminal events together, goes to all its clients at once). The
 * arrays handed here are never changed afterwards.
 */
export function sseFrames(events: readonly RunEvent[]): Uint8Array {
  if (events.length === 1) return sseFrame(events[0]!);
  let joined = joinedFrames.get(events);
  if (joined === undefined) {
    const parts = events.map(sseFrame);
    joined = new Uint8Array(parts.reduce((length, part) => length + part.byteLength, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.byteLength;
    }
    joinedFrames.set(events, joined);
  }
  return joined;
}

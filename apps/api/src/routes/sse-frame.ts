import type { RunEvent } from '@conveyor/core';

const frames = new WeakMap<RunEvent, string>();

/**
 * A run event as a Server-Sent Events frame (the layout of Hono's `writeSSE`: event, data, id),
 * formatted once however many clients of this process follow the run: the event hub hands
 * every subscriber the same event objects.
 */
export function sseFrame(event: RunEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    // JSON text holds no raw line break, so the data is one `data:` line.
    frame = `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\nid: ${event.id}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

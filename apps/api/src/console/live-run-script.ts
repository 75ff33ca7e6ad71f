import { readFileSync } from 'node:fs';

/** Plain browser JavaScript (no build step), inlined into live run pages; the run id comes from `data-run-id`. */
export const liveRunScript = readFileSync(new URL('./live-run.js', import.meta.url), 'utf8');

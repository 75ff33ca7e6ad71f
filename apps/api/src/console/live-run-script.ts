import { readFileSync } from 'node:fs';

/** Where the console serves the live run script (a static file: the CSP allows no inline script). */
export const LIVE_RUN_SCRIPT_PATH = '/console-assets/live-run.js';

/** Plain browser JavaScript (no build step) for live run pages; the run id comes from the tag's `data-run-id`. */
export const liveRunScript = readFileSync(new URL('./live-run.js', import.meta.url), 'utf8');

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the console's static files are served; pages reference them by these paths only. */
export const ASSETS_BASE = '/console-assets';

interface Asset {
  body: string;
  type: string;
}

const read = (url: URL | string) => readFileSync(typeof url === 'string' ? url : fileURLToPath(url), 'utf8');
const javascript = 'text/javascript; charset=utf-8';

/** Every file the console serves, read once at start. */
const assets: Record<string, Asset> = {
  'console.css': { body: read(new URL('./style.css', import.meta.url)), type: 'text/css; charset=utf-8' },
  'favicon.svg': { body: read(new URL('./favicon.svg', import.meta.url)), type: 'image/svg+xml' },
  'live-run.js': { body: read(new URL('./live-run.js', import.meta.url)), type: javascript },
  'console.js': { body: read(new URL('./console.js', import.meta.url)), type: javascript },
  'markdown-renderer.js': { body: read(new URL('./markdown-renderer.js', import.meta.url)), type: javascript },
  // The same Markdown library the server renders with, so live text renders as it will at the end.
  'marked.esm.js': { body: read(fileURLToPath(import.meta.resolve('marked'))), type: javascript },
};

export const assetPath = (name: keyof typeof assets & string) => `${ASSETS_BASE}/${name}`;

export function findAsset(name: string): Asset | undefined {
  return Object.hasOwn(assets, name) ? assets[name] : undefined;
}

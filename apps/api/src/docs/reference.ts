import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';

/**
 * `/docs`: the API reference (Swagger UI) over `/openapi.json`, served from the pinned
 * swagger-ui-dist package's own files: nothing from another origin, works offline, and no
 * inline script or style (the page's one script of its own is `/docs/assets/reference.js`).
 */
const distFolder = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const assets: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: join(distFolder, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: join(distFolder, 'swagger-ui-bundle.js'), type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { file: join(distFolder, 'favicon-32x32.png'), type: 'image/png' },
  'reference.js': { file: fileURLToPath(new URL('./reference.js', import.meta.url)), type: 'text/javascript; charset=utf-8' },
};

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conveyor API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/reference.js"></script>
</body>
</html>
`;

export function docsRoutes(): Hono<AppEnv> {
  const cache = new Map<string, Buffer>();
  return new Hono<AppEnv>()
    .get('/docs', (c) => c.html(page))
    .get('/docs/assets/:file', (c) => {
      const asset = assets[c.req.param('file')];
      if (!asset) return c.json({ error: { code: 'not_found', message: `no route GET ${c.req.path}` } }, 404);
      let body = cache.get(asset.file);
      if (!body) {
        body = readFileSync(asset.file);
        cache.set(asset.file, body);
      }
      return c.body(new Uint8Array(body), 200, { 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=3600' });
    });
}

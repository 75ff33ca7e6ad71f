/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { consoleGate } from './auth/middleware.ts';
import { endSession } from './auth/session.ts';
import type { ConsoleEnv } from './env.ts';
import { guardedRouter } from './guard.ts';
import { assetPath, ASSETS_BASE, findAsset } from './assets.ts';
import { agentPages } from './pages/agents.tsx';
import { artifactPages } from './pages/artifacts.tsx';
import { loginRoutes } from './pages/login.tsx';
import { pipelinePages } from './pages/pipelines.tsx';
import { runPages } from './pages/runs.tsx';
import { settingsPages } from './pages/settings.tsx';
import { spendPages } from './pages/spend.tsx';

function logoutRoute() {
  const app = guardedRouter();
  app.post('/', async (c) => {
    await endSession(c, c.get('deps'));
    return c.redirect('/login', 303);
  });
  return app;
}

/**
 * The web console: server-rendered pages for people, mounted at `/`. Every section router
 * carries its own guard (see guard.ts), so nothing here touches `/v1` or other API paths.
 */
export function consoleRoutes() {
  const app = new Hono<ConsoleEnv>();

  app.get(`${ASSETS_BASE}/:name`, consoleGate, (c) => {
    const asset = findAsset(c.req.param('name'));
    if (!asset) return c.notFound();
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(asset.body, 200, { 'Content-Type': asset.type });
  });
  // Browsers ask for /favicon.ico on their own (the docs page too): the same small SVG.
  app.get('/favicon.ico', consoleGate, (c) => c.redirect(assetPath('favicon.svg'), 301));
  app.get('/', consoleGate, (c) => c.redirect('/runs', 302));

  app.route('/', loginRoutes());
  app.route('/logout', logoutRoute());
  app.route('/agents', agentPages());
  app.route('/pipelines', pipelinePages());
  app.route('/runs', runPages());
  app.route('/artifacts', artifactPages());
  app.route('/spend', spendPages());
  app.route('/settings', settingsPages());

  return app;
}

import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { SplitRouter } from './router.ts';
import { createTestApi } from './test-support.ts';

function appWithConsoleSiblings() {
  const router = new SplitRouter<never>();
  const app = new Hono({ router: router as never });
  const seen: string[] = [];
  app.use(async (c, next) => {
    seen.push(`every ${c.req.path}`);
    await next();
  });
  app.use('/v1/*', async (c, next) => {
    seen.push(`api ${c.req.path}`);
    await next();
  });
  app.get('/v1/runs/:id', (c) => c.text(`run ${c.req.param('id')}`));
  app.get('/v1/runs', (c) => c.text('runs'));
  app.get('/agents/new', (c) => c.text('new agent form'));
  app.get('/agents/:id', (c) => c.text(`agent ${c.req.param('id')}`));
  app.post('/agents/mcp-tools', (c) => c.text('mcp tools'));
  app.post('/agents/:id', (c) => c.text(`save ${c.req.param('id')}`));
  return { app, seen };
}

describe('SplitRouter', () => {
  it('answers API routes and console pages whose static routes sit beside parameter routes', async () => {
    const { app } = appWithConsoleSiblings();
    const text = async (path: string, method = 'GET') => (await app.request(path, { method })).text();
    expect(await text('/v1/runs/run_1')).toBe('run run_1');
    expect(await text('/v1/runs')).toBe('runs');
    expect(await text('/agents/new')).toBe('new agent form');
    expect(await text('/agents/agent_1')).toBe('agent agent_1');
    expect(await text('/agents/mcp-tools', 'POST')).toBe('mcp tools');
    expect(await text('/agents/agent_1', 'POST')).toBe('save agent_1');
    expect((await app.request('/v1/nowhere')).status).toBe(404);
  });

  it('runs middleware for every path on both sides, in the order it was added, and /v1 middleware on /v1 only', async () => {
    const { app, seen } = appWithConsoleSiblings();
    await app.request('/v1/runs/run_1');
    await app.request('/agents/new');
    expect(seen).toEqual(['every /v1/runs/run_1', 'api /v1/runs/run_1', 'every /agents/new']);
  });

  it('serves /v1 with the regular-expression router while the console side falls back to the trie', async () => {
    const { app } = appWithConsoleSiblings();
    await app.request('/agents/new');
    await app.request('/v1/runs');
    expect(app.router.name).toBe('SplitRouter (/v1: RegExpRouter, rest: SmartRouter + TrieRouter)');
  });

  it("serves the whole API's /v1 routes with the regular-expression router", async () => {
    const api = createTestApi();
    try {
      expect((await api.app.request('/agents/new')).status).toBeLessThan(500);
      expect((await api.call('GET', '/v1/agents')).status).toBe(200);
      expect(api.app.router.name).toMatch(/^SplitRouter \(\/v1: RegExpRouter, /);
    } finally {
      await api.close();
    }
  });
});

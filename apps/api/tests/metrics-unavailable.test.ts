import { createServer, type Server, type Socket } from 'node:net';
import { createLogger } from '@conveyor/core';
import { testConfig } from '@conveyor/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { createApiDeps } from '../src/deps.ts';
import { createTestApi } from '../src/test-support.ts';

/** A "Redis" that accepts connections and never answers, as a hung or partitioned server does. */
let silent: Server;
const sockets = new Set<Socket>();
let port = 0;
beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  port = (silent.address() as { port: number }).port;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

describe('/metrics', () => {
  it('answers Prometheus text while Redis answers, with the depth of every queue', async () => {
    const api = createTestApi();
    try {
      const response = await api.app.request('/metrics');
      expect(response.status).toBe(200);
      const text = await response.text();
      for (const queue of ['runs', 'webhooks', 'schedules']) expect(text).toContain(`conveyor_queue_jobs{queue="${queue}",state="waiting"}`);
    } finally {
      await api.close();
    }
  });

  it('answers 503 unavailable with Retry-After while Redis does not answer', async () => {
    const config = testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, API_TOKENS: 'test-token-0123456789' });
    const deps = createApiDeps(config, createLogger({ level: 'silent' }), { poolSize: 1 });
    try {
      const response = await createApp(deps).request('/metrics');
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    } finally {
      deps.redis.disconnect();
      await Promise.race([deps.close(), new Promise((resolve) => setTimeout(resolve, 1000))]);
    }
  });
});

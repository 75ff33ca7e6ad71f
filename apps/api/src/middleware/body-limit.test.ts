import { request } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, TEST_TOKEN } from '../test-support.ts';

/** Through a real node server: declared and chunked bodies take different paths. */
describe('body limit over HTTP', () => {
  const api = createTestApi({ BODY_LIMIT_BYTES: '1024' });
  let server: ServerType;
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server = serve({ fetch: api.app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
        port = info.port;
        resolve();
      });
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await api.close();
  });

  function post(body: string, chunked: boolean): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/agents',
          headers: {
            authorization: `Bearer ${TEST_TOKEN}`,
            'content-type': 'application/json',
            ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': Buffer.byteLength(body) }),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      if (chunked) for (let i = 0; i < body.length; i += 256) req.write(body.slice(i, i + 256));
      else req.write(body);
      req.end();
    });
  }

  const small = JSON.stringify({ name: 'small', model: 'gpt-4o' });
  const big = JSON.stringify({ name: 'x'.repeat(2000), model: 'gpt-4o' });

  it.each([false, true])('accepts a body under the limit (chunked: %s)', async (chunked) => {
    const res = await post(small, chunked);
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ name: 'small' });
  });

  it.each([false, true])('answers 413 payload_too_large for a body over the limit (chunked: %s)', async (chunked) => {
    const res = await post(big, chunked);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';
import { allowedMethods, routePattern } from './method-not-allowed.ts';

const api = createTestApi();
afterAll(() => api.close());

describe('a wrong method on a known path', () => {
  it('answers 405 method_not_allowed with Allow listing the methods of the path', async () => {
    const response = await api.call('PUT', '/v1/agents');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');

    const onId = await api.call('POST', '/v1/runs/run_x');
    expect(onId.status).toBe(405);
    expect(onId.headers.get('allow')).toBe('GET, HEAD');

    const onKey = await api.call('GET', '/v1/providers/openai/key');
    expect(onKey.status).toBe(405);
    expect(onKey.headers.get('allow')).toBe('DELETE, PUT');
  });

  it('still answers 404 for an unknown path', async () => {
    const response = await api.call('GET', '/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.headers.get('allow')).toBeNull();
  });
});

describe('routePattern', () => {
  it('matches parameters within one segment and wildcards across segments', () => {
    expect(routePattern('/v1/runs/:id/events').test('/v1/runs/run_1/events')).toBe(true);
    expect(routePattern('/v1/runs/:id/events').test('/v1/runs/a/b/events')).toBe(false);
    expect(routePattern('/admin/queues/*').test('/admin/queues/api/queues')).toBe(true);
    expect(allowedMethods([{ pattern: routePattern('/a'), method: 'POST' }], '/b')).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';
import { jsonDepth, MAX_JSON_DEPTH } from './input-guard.ts';

const api = createTestApi();
afterAll(() => api.close());

let pipelineId = '';
beforeAll(async () => {
  const agent = (await (await api.call('POST', '/v1/agents', { name: 'a', model: 'gpt-4o' })).json()) as { id: string };
  pipelineId = ((await (await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: agent.id }] })).json()) as { id: string }).id;
});

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
}

describe('the input guard', () => {
  it('answers 404 for U+0000 in an id of a path', async () => {
    for (const path of ['/v1/agents/%00', '/v1/pipelines/a%00b', '/v1/runs/%00/events', '/v1/artifacts/%00', '/v1/runs/%00/cancel']) {
      await expectError(await api.call(path.endsWith('cancel') ? 'POST' : 'GET', path), 404, 'not_found');
    }
  });

  it('answers 400 for U+0000 in a query value or name', async () => {
    await expectError(await api.call('GET', '/v1/runs?pipelineId=%00'), 400, 'validation_error');
    await expectError(await api.call('GET', '/v1/artifacts?cursor=a%00'), 400, 'validation_error');
    await expectError(await api.call('GET', '/v1/agents?x%00=1'), 400, 'validation_error');
  });

  it('answers 400 naming the field for U+0000 or a lone surrogate anywhere in a JSON body', async () => {
    for (const body of ['{"input":"a\\u0000"}', '{"input":"\\ud800"}', '{"input":"\\uDBFF"}', '{"input":"x","metadata":{"k":"\\udc00"}}', '{"input":{"\\u0000":1}}']) {
      const response = await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, body);
      expect(response.status).toBe(400);
      const error = ((await response.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('validation_error');
      expect(error.message).toMatch(/^body\.(input|metadata)/);
    }
    await expectError(await api.call('POST', '/v1/agents', { name: 'a\u0000', model: 'gpt-4o' }), 400, 'validation_error');
  });

  it('answers 400 for U+0000 written as itself in JSON text', async () => {
    for (const body of ['{"input":"a\u0000"}', '{"input":"x"}\u0000', '{"input":{"k\u0000":1}}']) {
      expect((await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, body)).status).toBe(400);
    }
  });

  it('answers 400 for JSON nested deeper than the limit, however deep', async () => {
    for (const depth of [MAX_JSON_DEPTH + 1, 5000, 100_000]) {
      const body = `{"input":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      await expectError(await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, body), 400, 'validation_error');
    }
  });

  it('lets valid text through: emoji, paired surrogates, brackets inside strings, nesting up to the limit', async () => {
    const nested = `${'['.repeat(MAX_JSON_DEPTH - 1)}"😀 [[[{{{"${']'.repeat(MAX_JSON_DEPTH - 1)}`;
    const response = await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, `{"input":${nested},"metadata":{"k":"\\ud83d\\ude00"}}`);
    expect(response.status).toBe(202);
  });

  it('answers 400 for U+0000 in a form body', async () => {
    const response = await api.app.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=a%00&password=b',
    });
    expect(response.status).toBe(400);
  });
});

describe('jsonDepth', () => {
  it('counts nesting outside strings only, escaped quotes included', () => {
    expect(jsonDepth('1')).toBe(0);
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"a":"[[[[\\"[[["}')).toBe(1);
  });
});

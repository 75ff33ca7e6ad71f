import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi({ BODY_LIMIT_BYTES: '4096' });
afterAll(() => api.close());

let agentId = '';
let pipelineId = '';
beforeAll(async () => {
  agentId = ((await (await api.call('POST', '/v1/agents', { name: 'a', model: 'gpt-4o' })).json()) as any).id;
  pipelineId = ((await (await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId }] })).json()) as any).id;
});

interface Case {
  name: string;
  method: string;
  path: () => string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const big = JSON.stringify({ name: 'x'.repeat(5000), model: 'gpt-4o' });

const cases: Case[] = [
  { name: 'malformed JSON', method: 'POST', path: () => '/v1/agents', body: '{"name": "a",', status: 400, code: 'validation_error' },
  { name: 'JSON null body', method: 'POST', path: () => '/v1/agents', body: 'null', status: 400, code: 'validation_error' },
  { name: 'JSON array body', method: 'POST', path: () => '/v1/agents', body: '[]', status: 400, code: 'validation_error' },
  { name: 'JSON string body', method: 'POST', path: () => '/v1/agents', body: '"agent"', status: 400, code: 'validation_error' },
  { name: 'empty body', method: 'POST', path: () => '/v1/agents', body: '', status: 400, code: 'validation_error' },
  { name: 'missing name', method: 'POST', path: () => '/v1/agents', body: '{"model":"gpt-4o"}', status: 400, code: 'validation_error' },
  { name: 'name of wrong type', method: 'POST', path: () => '/v1/agents', body: '{"name":5,"model":"gpt-4o"}', status: 400, code: 'validation_error' },
  { name: 'blank name', method: 'POST', path: () => '/v1/agents', body: '{"name":"  ","model":"gpt-4o"}', status: 400, code: 'validation_error' },
  { name: 'unknown field', method: 'POST', path: () => '/v1/agents', body: '{"name":"a","model":"gpt-4o","colour":"red"}', status: 400, code: 'validation_error' },
  { name: 'unknown tool', method: 'POST', path: () => '/v1/agents', body: '{"name":"a","model":"gpt-4o","tools":["shell"]}', status: 400, code: 'validation_error' },
  { name: 'repeated tool', method: 'POST', path: () => '/v1/agents', body: '{"name":"a","model":"gpt-4o","tools":["web_search","web_search"]}', status: 400, code: 'validation_error' },
  { name: 'temperature out of range', method: 'POST', path: () => '/v1/agents', body: '{"name":"a","model":"gpt-4o","temperature":7}', status: 400, code: 'validation_error' },
  { name: 'fractional maxTokens', method: 'POST', path: () => '/v1/agents', body: '{"name":"a","model":"gpt-4o","maxTokens":1.5}', status: 400, code: 'validation_error' },
  { name: 'unknown model', method: 'POST', path: () => '/v1/agents', body: '{"name":"a","model":"no-such-model"}', status: 400, code: 'validation_error' },
  { name: 'text/plain body', method: 'POST', path: () => '/v1/agents', body: 'name=a', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
  { name: 'form body', method: 'POST', path: () => '/v1/agents', body: 'name=a&model=gpt-4o', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
  { name: 'oversized body', method: 'POST', path: () => '/v1/agents', body: big, status: 413, code: 'payload_too_large' },
  { name: 'patch unknown agent', method: 'PATCH', path: () => '/v1/agents/agt_nope', body: '{"name":"b"}', status: 404, code: 'not_found' },
  { name: 'patch with unknown field', method: 'PATCH', path: () => `/v1/agents/${agentId}`, body: '{"id":"agt_other"}', status: 400, code: 'validation_error' },
  { name: 'get unknown agent', method: 'GET', path: () => '/v1/agents/agt_nope', status: 404, code: 'not_found' },
  { name: 'pipeline without steps', method: 'POST', path: () => '/v1/pipelines', body: '{"name":"p","steps":[]}', status: 400, code: 'validation_error' },
  { name: 'pipeline step of wrong type', method: 'POST', path: () => '/v1/pipelines', body: '{"name":"p","steps":["agt_1"]}', status: 400, code: 'validation_error' },
  { name: 'pipeline with ftp webhook', method: 'POST', path: () => '/v1/pipelines', body: `{"name":"p","steps":[{"agentId":"${agentId}"}],"webhookUrl":"ftp://x"}`, status: 400, code: 'validation_error' },
  { name: 'pipeline with negative duration', method: 'POST', path: () => '/v1/pipelines', body: `{"name":"p","steps":[{"agentId":"${agentId}"}],"maxDurationSeconds":-1}`, status: 400, code: 'validation_error' },
  { name: 'get unknown pipeline', method: 'GET', path: () => '/v1/pipelines/pip_nope', status: 404, code: 'not_found' },
  { name: 'delete unknown pipeline', method: 'DELETE', path: () => '/v1/pipelines/pip_nope', status: 404, code: 'not_found' },
  { name: 'run without input', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{}', status: 400, code: 'validation_error' },
  { name: 'run with null input', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":null}', status: 400, code: 'validation_error' },
  { name: 'run with bad webhook URL', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":"x","webhookUrl":"not a url"}', status: 400, code: 'validation_error' },
  { name: 'run with webhook URL with credentials', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":"x","webhookUrl":"http://u:p@127.0.0.1/h"}', status: 400, code: 'validation_error' },
  { name: 'run with zero ttl', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":"x","ttlSeconds":0}', status: 400, code: 'validation_error' },
  { name: 'run with array metadata', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":"x","metadata":[1]}', status: 400, code: 'validation_error' },
  { name: 'run with unknown field', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":"x","priority":1}', status: 400, code: 'validation_error' },
  { name: 'run with overlong idempotency key', method: 'POST', path: () => `/v1/pipelines/${pipelineId}/runs`, body: '{"input":"x"}', headers: { 'idempotency-key': 'k'.repeat(300) }, status: 400, code: 'validation_error' },
  { name: 'get unknown run', method: 'GET', path: () => '/v1/runs/run_nope', status: 404, code: 'not_found' },
  { name: 'runs with limit 0', method: 'GET', path: () => '/v1/runs?limit=0', status: 400, code: 'validation_error' },
  { name: 'runs with limit 101', method: 'GET', path: () => '/v1/runs?limit=101', status: 400, code: 'validation_error' },
  { name: 'runs with non-numeric limit', method: 'GET', path: () => '/v1/runs?limit=ten', status: 400, code: 'validation_error' },
  { name: 'runs with unknown status', method: 'GET', path: () => '/v1/runs?status=paused', status: 400, code: 'validation_error' },
  { name: 'runs with a forged cursor', method: 'GET', path: () => '/v1/runs?cursor=not-a-cursor', status: 400, code: 'validation_error' },
  { name: 'runs with a cursor of bad JSON shape', method: 'GET', path: () => `/v1/runs?cursor=${Buffer.from('[1,2]').toString('base64url')}`, status: 400, code: 'validation_error' },
  { name: 'artifacts with a forged cursor', method: 'GET', path: () => '/v1/artifacts?cursor=%00%01', status: 400, code: 'validation_error' },
  { name: 'get unknown artifact', method: 'GET', path: () => '/v1/artifacts/art_nope', status: 404, code: 'not_found' },
  { name: 'cancel unknown run', method: 'POST', path: () => '/v1/runs/run_nope/cancel', status: 404, code: 'not_found' },
  { name: 'settings with unlisted model', method: 'PUT', path: () => '/v1/settings', body: '{"defaultModel":"gpt-4o"}', status: 400, code: 'validation_error' },
  { name: 'settings of wrong type', method: 'PUT', path: () => '/v1/settings', body: '{"defaultModel":4}', status: 400, code: 'validation_error' },
  { name: 'key for unknown provider', method: 'PUT', path: () => '/v1/providers/mistral/key', body: '{"apiKey":"sk-123456789"}', status: 404, code: 'not_found' },
  { name: 'key missing', method: 'PUT', path: () => '/v1/providers/openai/key', body: '{}', status: 400, code: 'validation_error' },
  { name: 'key with bad base URL', method: 'PUT', path: () => '/v1/providers/openai/key', body: '{"apiKey":"sk-1","baseUrl":"localhost:1234"}', status: 400, code: 'validation_error' },
  { name: 'unknown route', method: 'GET', path: () => '/v1/agents/a/b/c', status: 404, code: 'not_found' },
  { name: 'unsupported method', method: 'PUT', path: () => '/v1/agents', body: '{}', status: 405, code: 'method_not_allowed' },
];

describe('malformed requests', () => {
  it('has at least 30 cases', () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases)('$name → $status $code', async ({ method, path, body, headers, status, code }) => {
    const res = await api.call(method, path(), body, headers);
    const payload = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBeLessThan(500);
    expect(res.status).toBe(status);
    expect(payload.error.code).toBe(code);
    expect(payload.error.message).toEqual(expect.any(String));
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});

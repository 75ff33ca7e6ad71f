import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi } from './test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: object }> }; security?: unknown[] }>>;
  components: { schemas: Record<string, object> };
};
let doc: Doc;
let agentId = '';
let pipelineId = '';

beforeAll(async () => {
  doc = (await (await api.app.request('/openapi.json')).json()) as Doc;
  agentId = ((await (await api.call('POST', '/v1/agents', { name: 'a', model: 'gpt-4o' })).json()) as any).id;
  pipelineId = ((await (await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId }] })).json()) as any).id;
});

const toOpenApiPath = (path: string) => path.replace(/:([^/]+)/g, '{$1}');

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document with every route the app serves under /v1 and the health checks', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = api.app.routes
      .filter((r) => r.method !== 'ALL' && (r.path.startsWith('/v1/') || r.path === '/healthz' || r.path === '/readyz'))
      .map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(served.length).toBeGreaterThanOrEqual(22);
    for (const route of served) expect(documented).toContain(route);
    for (const route of [
      'get /v1/agents', 'post /v1/agents', 'get /v1/agents/{id}', 'patch /v1/agents/{id}', 'delete /v1/agents/{id}',
      'get /v1/pipelines', 'post /v1/pipelines', 'get /v1/pipelines/{id}', 'patch /v1/pipelines/{id}', 'delete /v1/pipelines/{id}',
      'post /v1/pipelines/{id}/runs', 'get /v1/runs', 'get /v1/runs/{id}', 'post /v1/runs/{id}/cancel',
      'get /v1/artifacts', 'get /v1/artifacts/{id}', 'get /v1/models', 'get /v1/settings', 'put /v1/settings',
      'get /v1/providers', 'put /v1/providers/{id}/key', 'delete /v1/providers/{id}/key',
    ]) {
      expect(documented).toContain(route);
    }
  });

  it('documents the request headers a route reads, each once', () => {
    const headerParameters = (path: string, method: string) =>
      ((doc.paths[path]![method] as { parameters?: { in: string; name: string }[] }).parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    expect(headerParameters('/v1/pipelines/{id}/runs', 'post')).toEqual(['idempotency-key']);
    expect(headerParameters('/v1/runs/{id}/events', 'get')).toEqual(['last-event-id']);
  });

  it('declares bearer auth on every /v1 operation and none on health checks', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        if (path.startsWith('/v1/')) expect(op.security ?? [{ bearerAuth: [] }]).toEqual([{ bearerAuth: [] }]);
        else expect(op.security).toEqual([]);
      }
    }
  });

  it('has request body schemas that reject exactly what the handlers reject', async () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
    const bodySchema = (path: string, method: string) => {
      const schema = doc.paths[path]![method]!.requestBody!.content['application/json']!.schema;
      return ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')));
    };

    const cases: { method: string; docPath: string; path: () => string; body: unknown; valid: boolean }[] = [
      ...[
        [{ name: 'a', model: 'gpt-4o' }, true],
        [{ name: 'a', model: 'gpt-4o', systemPrompt: 's', temperature: 1, maxTokens: 10, tools: ['web_fetch'] }, true],
        [{ model: 'gpt-4o' }, false],
        [{ name: 'a', model: 'gpt-4o', extra: true }, false],
        [{ name: 'a', model: 'gpt-4o', temperature: 3 }, false],
        [{ name: 'a', model: 'gpt-4o', maxTokens: 0 }, false],
        [{ name: 'a', model: 'gpt-4o', tools: ['shell'] }, false],
        [{ name: 'a', model: 'gpt-4o', tools: ['web_search', 'web_search'] }, false],
        [{ name: '', model: 'gpt-4o' }, false],
        [[], false],
      ].map(([body, valid]) => ({ method: 'post', docPath: '/v1/agents', path: () => '/v1/agents', body, valid: valid as boolean })),
      ...[
        [{ name: 'b' }, true],
        [{ systemPrompt: null, temperature: null }, true],
        [{ id: 'x' }, false],
        [{ maxTokens: 'ten' }, false],
      ].map(([body, valid]) => ({ method: 'patch', docPath: '/v1/agents/{id}', path: () => `/v1/agents/${agentId}`, body, valid: valid as boolean })),
      ...[
        [() => ({ name: 'p', steps: [{ agentId }] }), true],
        [() => ({ name: 'p', steps: [{ agentId, prompt: '{{input}}' }], maxDurationSeconds: 60 }), true],
        [() => ({ name: 'p', steps: [] }), false],
        [() => ({ name: 'p' }), false],
        [() => ({ name: 'p', steps: [{ agentId, extra: 1 }] }), false],
        [() => ({ name: 'p', steps: [{ agentId }], maxDurationSeconds: 0 }), false],
      ].map(([body, valid]) => ({ method: 'post', docPath: '/v1/pipelines', path: () => '/v1/pipelines', body, valid: valid as boolean })),
      ...[
        [{ input: 'hello' }, true],
        [{ input: { a: 1 }, metadata: { k: 'v' }, ttlSeconds: 10 }, true],
        [{ input: 'x', ttlSeconds: 1.5 }, false],
        [{ input: 'x', metadata: 'm' }, false],
        [{ input: 'x', extra: 1 }, false],
      ].map(([body, valid]) => ({
        method: 'post',
        docPath: '/v1/pipelines/{id}/runs',
        path: () => `/v1/pipelines/${pipelineId}/runs`,
        body,
        valid: valid as boolean,
      })),
      ...[
        [{ defaultModel: 5 }, false],
        [{ defaultModel: 'gpt-4o', other: 1 }, false],
        [{ defaultModel: null }, true],
        [{}, false],
      ].map(([body, valid]) => ({ method: 'put', docPath: '/v1/settings', path: () => '/v1/settings', body, valid: valid as boolean })),
      ...[
        [{ apiKey: 7 }, false],
        [{ apiKey: 'k', secret: 'x' }, false],
        [{}, false],
      ].map(([body, valid]) => ({ method: 'put', docPath: '/v1/providers/{id}/key', path: () => '/v1/providers/openai/key', body, valid: valid as boolean })),
    ];

    for (const { method, docPath, path, body: rawBody, valid } of cases) {
      const body = typeof rawBody === 'function' ? rawBody() : rawBody;
      const label = `${method} ${docPath} ${JSON.stringify(body)}`;
      expect(bodySchema(docPath, method)(body), `schema: ${label}`).toBe(valid);
      const res = await api.call(method.toUpperCase(), path(), body);
      const error = res.status === 400 ? ((await res.json()) as any).error : undefined;
      const rejectedByValidation = error?.code === 'validation_error' && error.details?.[0]?.path?.[0] === 'body';
      expect(rejectedByValidation, `handler: ${label} → ${res.status}`).toBe(!valid);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../src/test-support.ts';

/**
 * Requests generated from /openapi.json — schema-shaped values mixed with hostile ones
 * (U+0000, lone surrogates, deep nesting, wrong types, odd ids) — with a fixed seed, so a
 * failure replays. None may answer 5xx and none may hang.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0xc0ffee);
const REQUESTS = 3000;
const REQUEST_DEADLINE_MS = 5000;

const api = createTestApi();
afterAll(() => api.close());

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  parameters: Array<{ name: string; in: string; schema?: Schema }>;
  body?: Schema;
}

function mulberry32(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

const DEEP = '__deep__';
const hostileStrings = ['\u0000', 'a\u0000b', '\uD800', 'x\uDFFF', '\uDBFF\uDBFF', '', ' ', 'x'.repeat(3000), '../../etc/passwd', '%00', '\\u0000', '💥', '\u202e', DEEP, '<script>', "'; drop table runs; --"];
const hostileValues: unknown[] = [null, 0, -1, 1.5, 1e308, true, [], {}, [[[[]]]], { a: { b: { c: {} } } }, ...hostileStrings];

let knownIds: string[] = [];

function resolveRef(root: Schema, schema: Schema | undefined): Schema | undefined {
  if (!schema?.$ref) return schema;
  const name = String(schema.$ref).split('/').pop()!;
  return root.components?.schemas?.[name];
}

function valueFor(root: Schema, input: Schema | undefined, depth = 0): unknown {
  if (chance(0.12) || depth > 6) return pick(hostileValues);
  const schema = resolveRef(root, input) ?? {};
  if (schema.enum) return pick(schema.enum);
  if (schema.const !== undefined) return schema.const;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return valueFor(root, pick(alternatives), depth + 1);
  const type = Array.isArray(schema.type) ? pick(schema.type) : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, property] of Object.entries<Schema>(schema.properties ?? {})) {
        if ((schema.required ?? []).includes(key) || chance(0.5)) out[key] = valueFor(root, property, depth + 1);
      }
      if (chance(0.05)) out[pick(['extra', '\u0000', 'k\uD800'])] = pick(hostileValues);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.floor(random() * 3) + (schema.minItems ?? 0) }, () => valueFor(root, schema.items, depth + 1));
    case 'string':
      if (schema.format === 'uri') return pick(['http://127.0.0.1:9/hook', 'https://localhost:9/h', 'http://169.254.169.254/', 'ftp://x', 'http://[::1]/']);
      if (/id$/i.test(String(schema.description ?? '')) || chance(0.3)) return pick([...knownIds, 'agt_nope', 'pip_nope']);
      return pick(['hello', 'gpt-4o', 'claude-sonnet-4-5', 'openai:llama3.1', '__default__', 'web_search', 'x']);
    case 'integer':
      return pick([1, 5, 10, 100, 0, -3, 2 ** 40]);
    case 'number':
      return pick([0, 0.5, 1, 2.5, -1]);
    case 'boolean':
      return chance(0.5);
    default:
      return pick(['text', { a: 1 }, [1, 'two'], 3, pick(hostileValues)]);
  }
}

const idSegments = () => [
  ...knownIds.map(encodeURIComponent),
  'agt_nope', '%00', 'a%00b', '%ED%A0%80', '%C0%80', '%FF', '%', '%2F', '..', '%2e%2e', 'x'.repeat(300), '%F0%9F%92%A5', '%5Cu0000', 'OpenAI', 'nope',
];

function queryValue(root: Schema, schema: Schema | undefined): string {
  if (chance(0.4)) return pick(['%00', 'a%00', '%ED%A0%80', '-1', '0', '1e9', 'abc', '', '%', '%C0%80', 'x'.repeat(600), 'running', '%5B%5D']);
  const value = valueFor(root, schema);
  return encodeURIComponent(typeof value === 'string' ? value.replace(/[\uD800-\uDFFF]/g, '') : JSON.stringify(value));
}

function bodyText(root: Schema, schema: Schema | undefined): string {
  const roll = random();
  if (roll < 0.04) return pick(['', '{', 'null', '[]', '"x"', '{"a":', '\u0000', '{"input":"\\ud800"}', '{"input":"\\u0000"}']);
  if (roll < 0.08) return '['.repeat(5000) + ']'.repeat(5000);
  if (roll < 0.1) return `{"input":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
  const text = JSON.stringify(valueFor(root, schema)) ?? 'null';
  return text.replaceAll(`"${DEEP}"`, '['.repeat(3000) + ']'.repeat(3000));
}

function buildRequest(root: Schema, operation: Operation): { method: string; path: string; body?: string; headers: Record<string, string> } {
  const path = operation.path.replace(/\{(\w+)\}/g, () => pick(idSegments()));
  const query = operation.parameters
    .filter((parameter) => parameter.in === 'query' && chance(0.6))
    .map((parameter) => `${encodeURIComponent(parameter.name)}=${queryValue(root, parameter.schema)}`);
  if (chance(0.1)) query.push(`${pick(['%00', 'x%00y', 'extra'])}=${pick(['1', '%00'])}`);
  const headers: Record<string, string> = { authorization: `Bearer ${api.deps.config.API_TOKENS[0]}` };
  if (chance(0.1)) headers['idempotency-key'] = pick(['k1', 'x'.repeat(400), 'é', '']);
  const request = { method: operation.method.toUpperCase(), path: `/v1${path}${query.length ? `?${query.join('&')}` : ''}`, headers };
  if (request.method === 'GET' || (!operation.body && !chance(0.05))) return request;
  headers['content-type'] = chance(0.95) ? 'application/json' : pick(['text/plain', 'application/x-www-form-urlencoded']);
  return { ...request, body: headers['content-type'] === 'application/x-www-form-urlencoded' ? `a=%00&b=${pick(['1', '%ED%A0%80'])}` : bodyText(root, operation.body) };
}

async function send(request: ReturnType<typeof buildRequest>): Promise<number | 'hang'> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => resolve('hang'), REQUEST_DEADLINE_MS);
  });
  const attempt = (async () => {
    const response = await api.app.request(request.path, { method: request.method, headers: request.headers, body: request.body, signal: controller.signal });
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) await response.body?.cancel();
    else await response.arrayBuffer();
    return response.status;
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

describe('fuzzing every documented operation', () => {
  let root: Schema;
  let operations: Operation[] = [];

  beforeAll(async () => {
    root = (await (await api.app.request('/openapi.json')).json()) as Schema;
    for (const [path, item] of Object.entries<Schema>(root.paths)) {
      if (!path.startsWith('/')) continue;
      for (const [method, operation] of Object.entries<Schema>(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        const body = operation.requestBody?.content?.['application/json']?.schema;
        operations.push({ method, path: path.replace(/^\/v1/, ''), parameters: operation.parameters ?? [], body });
      }
    }
    // Settings and the real providers' keys are shared by every test file running at the same time:
    // the fuzz leaves them alone (provider key routes are fuzzed with ids of no provider, so they end in 404).
    operations = operations.filter((operation) => !['/healthz', '/readyz'].includes(operation.path) && !(operation.method === 'put' && operation.path === '/settings'));
    const agent = (await (await api.call('POST', '/v1/agents', { name: 'fuzz', model: 'gpt-4o' })).json()) as { id: string };
    const pipeline = (await (await api.call('POST', '/v1/pipelines', { name: 'fuzz', steps: [{ agentId: agent.id }] })).json()) as { id: string };
    const run = (await (await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' })).json()) as { id: string };
    knownIds = [agent.id, pipeline.id, run.id];
  });

  it('answers every generated request below 500, each within its deadline', async () => {
    expect(operations.length).toBeGreaterThan(15);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const request = buildRequest(root, pick(operations));
      const status = await send(request);
      // Listing an MCP server's tools connects to it: a server that cannot be reached is its documented 502.
      const unreachable = status === 502 && request.path.startsWith('/v1/mcp/');
      if (status === 'hang' || (status >= 500 && !unreachable)) failures.push(`#${i} ${status}: ${request.method} ${request.path.slice(0, 200)} ${JSON.stringify(request.body?.slice(0, 200))}`);
      if (status !== 'hang') statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect(failures.slice(0, 20)).toEqual([]);
    // The requests reached the handlers: successes and every kind of refusal are among the answers.
    const count = (predicate: (status: number) => boolean) => [...statuses].filter(([s]) => predicate(s)).reduce((sum, [, n]) => sum + n, 0);
    expect(count((s) => s >= 200 && s < 300)).toBeGreaterThan(REQUESTS / 20);
    expect(statuses.get(400)).toBeGreaterThan(REQUESTS / 20);
    expect(statuses.get(404)).toBeGreaterThan(REQUESTS / 50);
    expect(statuses.get(401)).toBeUndefined();
  }, 120_000);
});

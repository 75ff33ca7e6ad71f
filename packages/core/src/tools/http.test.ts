import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { callHttpTool, type HttpTool, type HttpToolOptions } from './http.ts';
import { ToolCallAbortedError } from './result.ts';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the tool server does with one request. */
type Reply = { status?: number; body?: string; type?: string; headers?: Record<string, string> } | 'hang';

const received: Received[] = [];
const replies: Reply[] = [];
let arrived: (() => void) | undefined;
let closedConnections = 0;
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      arrived?.();
      const reply = replies.shift() ?? { body: '{"ok":true}' };
      if (reply === 'hang') {
        request.socket.once('close', () => closedConnections++);
        return;
      }
      response.writeHead(reply.status ?? 200, { 'content-type': reply.type ?? 'application/json', ...reply.headers }).end(reply.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tool`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received.length = 0;
  replies.length = 0;
  closedConnections = 0;
});

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const tool = (): HttpTool => ({ type: 'http', name: 'lookup', description: 'Looks things up', inputSchema: { type: 'object' }, url });
const options: HttpToolOptions = { secret, allowPrivate: true, baseDelayMs: 1, maxDelayMs: 5 };
const context = { runId: 'run_1', stepIndex: 2, toolCallId: 'toolu_abc' };

describe('HTTP function tools', () => {
  it('POSTs the signed call and gives a JSON answer to the model', async () => {
    replies.push({ body: '{ "rows": [1, 2] }' });
    const result = await callHttpTool(tool(), { q: 'x' }, context, options);
    expect(result).toMatchObject({ output: '{"rows":[1,2]}', json: { rows: [1, 2] }, isError: false, warnings: [], attempts: 1 });
    const [request] = received;
    expect(JSON.parse(request!.body)).toEqual({ runId: 'run_1', stepIndex: 2, toolCallId: 'toolu_abc', name: 'lookup', input: { q: 'x' } });
    expect(request!.headers['webhook-id']).toBe('tool_toolu_abc');
    const verified = new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>);
    expect(verified).toEqual(JSON.parse(request!.body));
  });

  it('gives a text answer as text', async () => {
    replies.push({ body: 'forty-two', type: 'text/plain; charset=utf-8' });
    const result = await callHttpTool(tool(), {}, context, options);
    expect(result).toMatchObject({ output: 'forty-two', isError: false });
    expect(result.json).toBeUndefined();
  });

  it('retries 5xx and network-level failures with the same toolCallId and webhook-id, then succeeds', async () => {
    replies.push({ status: 503 }, { status: 500, body: 'boom' }, { body: '"done"' });
    const result = await callHttpTool(tool(), {}, context, options);
    expect(result).toMatchObject({ output: '"done"', isError: false, attempts: 3 });
    expect(received.map((r) => r.headers['webhook-id'])).toEqual(['tool_toolu_abc', 'tool_toolu_abc', 'tool_toolu_abc']);
    expect(new Set(received.map((r) => JSON.parse(r.body).toolCallId))).toEqual(new Set(['toolu_abc']));
  });

  it('gives up after the bounded attempts with an error result naming the last failure', async () => {
    replies.push({ status: 502 }, { status: 502 }, { status: 504, body: 'gateway timeout' });
    const result = await callHttpTool(tool(), {}, context, options);
    expect(result).toMatchObject({ output: 'the tool answered HTTP 504: gateway timeout (after 3 attempts)', isError: true, attempts: 3 });
    expect(received).toHaveLength(3);
  });

  it('does not retry a 4xx: the error and its body go to the model', async () => {
    replies.push({ status: 422, body: '{"error":"q is required"}' });
    const result = await callHttpTool(tool(), {}, context, options);
    expect(result).toMatchObject({ output: 'the tool answered HTTP 422: {"error":"q is required"}', isError: true, attempts: 1 });
    expect(received).toHaveLength(1);
  });

  it('times out a silent tool and retries it', async () => {
    replies.push('hang');
    const result = await callHttpTool({ ...tool(), timeoutSeconds: 0.2 }, {}, context, options);
    expect(result).toMatchObject({ isError: false, attempts: 2 });
    expect(received).toHaveLength(2);
  });

  it('reports a tool that cannot be reached as an error result, not an exception', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = http.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const result = await callHttpTool({ ...tool(), url: `http://127.0.0.1:${closed}/` }, {}, context, { ...options, maxAttempts: 2 });
    expect(result).toMatchObject({ output: 'the tool could not be reached (ECONNREFUSED) (after 2 attempts)', isError: true, attempts: 2 });
  });

  it('truncates a result over the size cap with a warning', async () => {
    replies.push({ body: 'é'.repeat(2000), type: 'text/plain' });
    const result = await callHttpTool(tool(), {}, context, { ...options, maxResultBytes: 101 });
    expect(result.output).toBe(`${'é'.repeat(50)}\n[truncated]`);
    expect(result.warnings).toEqual(['the result of tool lookup was longer than 101 bytes and was truncated']);
    expect(result.isError).toBe(false);
  });

  it('refuses a loopback address unless private targets are allowed, without connecting', async () => {
    const literal = await callHttpTool(tool(), {}, context, { ...options, allowPrivate: false });
    expect(literal).toMatchObject({ isError: true, attempts: 0, output: "the tool's url was refused: points to a loopback, private, link-local or metadata address" });
    const resolved = await callHttpTool({ ...tool(), url: url.replace('127.0.0.1', 'tools.example.com') }, {}, context, {
      ...options,
      allowPrivate: false,
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    expect(resolved).toMatchObject({ isError: true, output: "the tool's url was refused: points to a loopback, private, link-local or metadata address" });
    expect(received).toHaveLength(0);
  });

  it('aborts the request in flight when the call is cancelled', async () => {
    replies.push('hang');
    const controller = new AbortController();
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const call = callHttpTool(tool(), {}, { ...context, signal: controller.signal }, options);
    await seen;
    arrived = undefined;
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(ToolCallAbortedError);
    await expect.poll(() => closedConnections).toBe(1);
    expect(received).toHaveLength(1);
  });
});

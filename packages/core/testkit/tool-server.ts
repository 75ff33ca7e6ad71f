import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request an HTTP tool received. */
export interface ToolRequest {
  runId: string;
  stepIndex: number;
  toolCallId: string;
  name: string;
  input: unknown;
  headers: Record<string, string | string[] | undefined>;
}

/** An HTTP tool server on 127.0.0.1 for tests: every tool answers `{tool, input}` as JSON unless told otherwise. */
export interface TestToolServer {
  /** The URL of a tool served here (any path works; the name is only for readability). */
  url(name: string): string;
  requests: ToolRequest[];
  /** Requests for one tool call (the same id on every retry and every attempt of the run). */
  requestsFor(toolCallId: string): ToolRequest[];
  /** The next request for `name` is held unanswered until `release()`; resolves when it arrives. */
  hold(name: string): Promise<ToolRequest>;
  /** Answers the held request (if any). */
  release(): void;
  /** Requests whose client went away before an answer (an aborted call). */
  abandoned: number;
  /** The next requests for `name` are answered with these statuses (then 200 again). */
  fail(name: string, ...statuses: number[]): void;
  /** Requests currently waiting for an answer. */
  inFlight(): number;
  reset(): void;
  close(): Promise<void>;
}

export async function startTestToolServer(): Promise<TestToolServer> {
  let held: { name: string; arrived: (request: ToolRequest) => void; answer?: () => void } | undefined;
  const failures = new Map<string, number[]>();
  let open = 0;

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<ToolRequest, 'headers'>;
      const received: ToolRequest = { ...body, headers: request.headers };
      state.requests.push(received);
      const answer = () => {
        open--;
        const status = failures.get(body.name)?.shift();
        if (status !== undefined) response.writeHead(status, { 'content-type': 'text/plain' }).end(`failure ${status}`);
        else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tool: body.name, input: body.input }));
      };
      open++;
      response.on('close', () => {
        if (!response.writableFinished) {
          open--;
          state.abandoned++;
        }
      });
      if (held && held.name === body.name && !held.answer) {
        held.answer = answer;
        held.arrived(received);
        return;
      }
      answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: TestToolServer = {
    url: (name) => `${base}/tools/${name}`,
    requests: [],
    requestsFor: (toolCallId) => state.requests.filter((request) => request.toolCallId === toolCallId),
    hold: (name) => new Promise((resolve) => (held = { name, arrived: resolve })),
    release() {
      const answer = held?.answer;
      held = undefined;
      answer?.();
    },
    abandoned: 0,
    fail: (name, ...statuses) => failures.set(name, [...(failures.get(name) ?? []), ...statuses]),
    inFlight: () => open,
    reset() {
      state.requests.length = 0;
      state.abandoned = 0;
      failures.clear();
      held = undefined;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return state;
}

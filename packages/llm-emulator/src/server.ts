import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropic } from './anthropic.ts';
import { PromptCache } from './cache.ts';
import { countTokensPath, handleCountTokens } from './count-tokens.ts';
import type { Dialect, ParsedRequest, ReplyContext } from './dialect.ts';
import { StreamPace } from './pace.ts';
import { BadRequest, pause, randomId, readJson, sendJson } from './http.ts';
import { openai } from './openai.ts';
import { defaultReplyText, estimateTokens, planReply, promptDirectives } from './reply.ts';
import { argumentChunks, planTurn } from './turn.ts';
import { type EmulatedProvider, type Pacing, Script, type ScriptedResponse } from './script.ts';

export interface EmulatorOptions extends Partial<Pacing> {
  port?: number;
  host?: string;
  /** Accepted API keys; empty or absent accepts any non-empty key. */
  apiKeys?: string[];
  /** The oldest recorded requests are dropped beyond this many (default 10000). */
  maxRecordedRequests?: number;
}

export interface RecordedRequest {
  provider: EmulatedProvider;
  path: string;
  /** The parsed JSON body, exactly as sent (model, messages, tools, ...). */
  body: Record<string, unknown>;
  /** The HTTP status the emulator answered with. */
  status: number;
  receivedAt: string;
  /** The names of the request's headers, lowercase (not their values: one of them is the key). */
  headerNames: string[];
}

export interface InFlight {
  current: number;
  max: number;
  /** Text and tool-argument chunks streamed since start: with `current`, the pace the emulator actually kept. */
  streamedChunks: number;
}

export interface Emulator {
  url: string;
  /** `ANTHROPIC_BASE_URL` for the official SDK (it appends `/v1/messages`). */
  anthropicBaseUrl: string;
  /** `OPENAI_BASE_URL` for the official SDK (it appends `/chat/completions`). */
  openaiBaseUrl: string;
  /**
   * The variables that point both providers at this emulator (any non-empty key is accepted),
   * with PROVIDER_ALLOW_PRIVATE=true since the emulator listens on a loopback address.
   */
  providerEnv(apiKey?: string): {
    ANTHROPIC_API_KEY: string;
    OPENAI_API_KEY: string;
    ANTHROPIC_BASE_URL: string;
    OPENAI_BASE_URL: string;
    PROVIDER_ALLOW_PRIVATE: 'true';
  };
  /** Every provider request received so far, oldest first. */
  readonly requests: RecordedRequest[];
  /** Appends entries to the script queue. */
  script(...entries: ScriptedResponse[]): void;
  setDefaults(pacing: Partial<Pacing>): void;
  /** Concurrent requests per provider: now and the most seen since the last reset. */
  inFlight(): Record<EmulatedProvider, InFlight>;
  /** Forgets requests, script, pacing overrides and in-flight maxima. */
  reset(): void;
  close(): Promise<void>;
}

const dialects: Dialect[] = [anthropic, openai];

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const promptCache = new PromptCache();
  const script = new Script({ latencyMs: options.latencyMs ?? 0, tokensPerSecond: options.tokensPerSecond ?? 0 });
  const requests: RecordedRequest[] = [];
  const inFlight: Record<EmulatedProvider, InFlight> = { anthropic: { current: 0, max: 0, streamedChunks: 0 }, openai: { current: 0, max: 0, streamedChunks: 0 } };
  const apiKeys = new Set(options.apiKeys ?? []);
  const maxRecorded = options.maxRecordedRequests ?? 10_000;

  const state = {
    snapshot: () => ({ anthropic: { ...inFlight.anthropic }, openai: { ...inFlight.openai } }),
    reset() {
      requests.length = 0;
      script.reset();
      promptCache.reset();
      for (const counter of Object.values(inFlight)) counter.max = counter.current;
    },
  };

  async function handleProvider(dialect: Dialect, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const counter = inFlight[dialect.provider];
    counter.current += 1;
    counter.max = Math.max(counter.max, counter.current);
    res.once('close', () => {
      counter.current -= 1;
    });

    let body: Record<string, unknown> = {};
    const record: RecordedRequest = { provider: dialect.provider, path: req.url ?? '', body, status: 200, receivedAt: new Date().toISOString(), headerNames: Object.keys(req.headers) };
    requests.push(record);
    if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
    const fail = (status: number, message: string, retryAfterSeconds?: number) => {
      record.status = status;
      dialect.sendError(res, status, message, retryAfterSeconds);
    };

    let parsed: ParsedRequest;
    try {
      body = await readJson(req);
      record.body = body;
      const key = dialect.apiKey(req);
      if (!key || (apiKeys.size > 0 && !apiKeys.has(key))) return fail(401, key ? 'invalid x-api-key' : 'missing API key');
      parsed = dialect.parse(body);
    } catch (error) {
      if (error instanceof BadRequest) return fail(400, error.message);
      throw error;
    }

    const entry = script.take(dialect.provider, parsed.conversation.model) ?? {};
    const pacing = { ...script.defaults, ...promptDirectives(parsed.conversation), ...definedPacing(entry) };
    if (!(await pause(pacing.latencyMs, res))) return;

    const failsMidStream = parsed.stream && entry.errorAfterChunks !== undefined;
    if (entry.status && entry.status >= 400 && !failsMidStream) {
      return fail(entry.status, entry.message ?? defaultErrorMessage(entry.status), entry.retryAfterSeconds);
    }

    const turn = planTurn(parsed, entry);
    const text = turn.kind === 'text' ? (turn.text ?? defaultReplyText(parsed.conversation)) : '';
    const plan = planReply(parsed.conversation, text, parsed.maxTokens);
    const toolCalls = (turn.kind === 'tools' ? turn.calls : []).map((call) => ({
      id: randomId(dialect.toolCallIdPrefix),
      name: call.name,
      arguments: call.arguments,
      chunks: argumentChunks(call.arguments),
    }));
    const promptTokens = plan.inputTokens + (parsed.toolTokens ?? 0);
    // A script entry that gives cache figures reports them as given, on top of the whole prompt.
    const scriptedCache = entry.cacheReadTokens !== undefined || entry.cacheWriteTokens !== undefined;
    const cached = scriptedCache
      ? { cacheReadTokens: entry.cacheReadTokens ?? 0, cacheWriteTokens: entry.cacheWriteTokens ?? 0 }
      : promptCache.account(dialect.provider, parsed.conversation.model, parsed.cache ?? {}, promptTokens);
    const reply: ReplyContext = {
      id: randomId(dialect.provider === 'anthropic' ? 'msg_' : 'chatcmpl-'),
      model: parsed.conversation.model,
      text: plan.chunks.join(''),
      plan,
      toolCalls,
      stop: toolCalls.length > 0 ? 'tool_use' : plan.truncated ? 'max_tokens' : 'end',
      usage: {
        inputTokens: scriptedCache ? promptTokens : promptTokens - cached.cacheReadTokens - cached.cacheWriteTokens,
        outputTokens: plan.chunks.length + toolCalls.reduce((sum, call) => sum + estimateTokens(call.arguments), 0),
        ...cached,
      },
    };

    if (!parsed.stream) return dialect.sendMessage(res, reply);

    dialect.streamStart(res, reply, parsed);
    const pace = new StreamPace(res, pacing.tokensPerSecond);
    for (const [index, chunk] of plan.chunks.entries()) {
      if (entry.dropAfterChunks !== undefined && index >= entry.dropAfterChunks) {
        pace.flush();
        res.destroy();
        return;
      }
      if (entry.status && entry.errorAfterChunks !== undefined && index >= entry.errorAfterChunks) {
        pace.flush();
        return dialect.streamError(res, entry.status, entry.message ?? defaultErrorMessage(entry.status));
      }
      if (!(await pace.next())) return;
      if (!dialect.streamDelta(res, reply, chunk)) return;
      counter.streamedChunks += 1;
    }
    for (const [position, call] of toolCalls.entries()) {
      if (!dialect.streamToolCallStart(res, reply, position)) return;
      for (const fragment of call.chunks) {
        if (!(await pace.next())) return;
        if (!dialect.streamToolCallDelta(res, reply, position, fragment)) return;
        counter.streamedChunks += 1;
      }
      if (!dialect.streamToolCallEnd(res, reply, position)) return;
    }
    pace.flush();
    dialect.streamEnd(res, reply, parsed);
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (req.method === 'GET' && path === '/_emulator/requests') return sendJson(res, 200, { requests });
    if (req.method === 'GET' && path === '/_emulator/in-flight') return sendJson(res, 200, state.snapshot());
    if (req.method === 'POST' && path === '/_emulator/reset') {
      state.reset();
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === 'POST' && path === '/_emulator/script') {
      const body = await readJson(req);
      if (body.defaults && typeof body.defaults === 'object') script.setDefaults(body.defaults as Partial<Pacing>);
      if (Array.isArray(body.responses)) script.push(...(body.responses as ScriptedResponse[]));
      return sendJson(res, 200, { pending: script.pending, defaults: script.defaults });
    }
    sendJson(res, 404, { error: 'not found' });
  }

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname.replace(/\/+$/, '');
    const dialect = dialects.find((d) => d.path === path);
    const work =
      path === countTokensPath && req.method === 'POST'
        ? handleCountTokens(req, res, { acceptsKey: (key) => apiKeys.size === 0 || apiKeys.has(key), record: (body, status) => requests.push({ provider: 'anthropic', path: countTokensPath, body, status, receivedAt: new Date().toISOString(), headerNames: Object.keys(req.headers) }) })
        : dialect && req.method === 'POST'
        ? handleProvider(dialect, req, res)
        : path.startsWith('/_emulator/')
          ? handleAdmin(req, res, path)
          : Promise.resolve(sendJson(res, 404, { error: `no route for ${req.method} ${path}` }));
    work.catch((error: unknown) => {
      if (error instanceof BadRequest) return sendJson(res, 400, { error: error.message });
      if (!res.headersSent) sendJson(res, 500, { error: 'emulator failure' });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  const url = `http://${host}:${port}`;

  return {
    url,
    anthropicBaseUrl: url,
    openaiBaseUrl: `${url}/v1`,
    providerEnv: (apiKey = 'emulator-key') => ({
      ANTHROPIC_API_KEY: apiKey,
      OPENAI_API_KEY: apiKey,
      ANTHROPIC_BASE_URL: url,
      OPENAI_BASE_URL: `${url}/v1`,
      PROVIDER_ALLOW_PRIVATE: 'true',
    }),
    requests,
    script: (...entries) => script.push(...entries),
    setDefaults: (pacing) => script.setDefaults(pacing),
    inFlight: state.snapshot,
    reset: state.reset,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function definedPacing(entry: ScriptedResponse): Partial<Pacing> {
  const pacing: Partial<Pacing> = {};
  if (entry.latencyMs !== undefined) pacing.latencyMs = entry.latencyMs;
  if (entry.tokensPerSecond !== undefined) pacing.tokensPerSecond = entry.tokensPerSecond;
  return pacing;
}

function defaultErrorMessage(status: number): string {
  if (status === 401) return 'invalid x-api-key';
  if (status === 429) return 'Number of requests has exceeded your rate limit';
  if (status === 529) return 'Overloaded';
  if (status >= 500) return 'Internal server error';
  return 'Invalid request';
}

/**
 * HTTP function tools: a signed POST of `{runId, stepIndex, toolCallId, name, input}` to
 * the tool's URL. Ordinary failures (refused address, network error, timeout, non-2xx)
 * become error results for the model; only an abort throws.
 */

import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { childSignal } from '../abort.ts';
import type { JsonSchema } from '../providers/types.ts';
import { webhookHeaders } from '../webhooks/sign.ts';
import { assertWebhookUrlSyntax, guardedLookup, type HostResolver, systemResolver, WebhookUrlError } from '../webhooks/ssrf.ts';
import { ToolCallAbortedError, type ToolCallContext, type ToolResult, truncateUtf8 } from './result.ts';

export interface HttpTool {
  type: 'http';
  name: string;
  description: string;
  inputSchema: JsonSchema;
  url: string;
  timeoutSeconds?: number;
}

export interface HttpToolOptions {
  /** WEBHOOK_SECRET: requests are signed with it (Standard Webhooks); unsigned without. */
  secret?: string;
  /** WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** DNS for the address guard; tests inject it. */
  lookup?: HostResolver;
  /** Requests per call, the first included (default 3). */
  maxAttempts?: number;
  /** Backoff before retry n: baseDelayMs·2^(n-1), at most maxDelayMs (defaults 500 ms, 5 s); `retry-after` is honoured up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Results longer than this many bytes are truncated with a warning (default 100 000). */
  maxResultBytes?: number;
  /** When the tool has no `timeoutSeconds` (default 30). */
  defaultTimeoutSeconds?: number;
}

export const httpToolDefaults = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 5000, maxResultBytes: 100_000, defaultTimeoutSeconds: 30 } as const;

/** The `webhook-id` of every request for one tool call: the receiver deduplicates retries by it. */
export const toolCallMessageId = (toolCallId: string): string => `tool_${toolCallId}`;

interface Exchange {
  status: number;
  contentType: string;
  retryAfter: string | undefined;
  body: string;
  truncated: boolean;
}

/** A failure worth another attempt (network, timeout); `message` is for the model. */
class TransientFailure extends Error {}

function exchange(url: URL, body: string, headers: Record<string, string>, timeoutMs: number, maxBytes: number, signal: AbortSignal, lookup?: HostResolver): Promise<Exchange> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        accept: 'application/json, text/plain;q=0.9, */*;q=0.1',
        'user-agent': 'Conveyor-Tools/1',
      },
      agent: false,
      signal,
      ...(lookup ? { lookup: guardedLookup(lookup) } : {}),
    });
    const timer = setTimeout(() => request.destroy(new TransientFailure(`the tool did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const done = () => clearTimeout(timer);
    request.on('error', (error) => {
      done();
      reject(error);
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let truncated = false;
      const finish = () => {
        done();
        resolve({
          status: response.statusCode ?? 0,
          contentType: String(response.headers['content-type'] ?? ''),
          retryAfter: response.headers['retry-after'],
          body: Buffer.concat(chunks).toString('utf8'),
          truncated,
        });
      };
      response.on('data', (chunk: Buffer) => {
        if (truncated) return;
        received += chunk.length;
        chunks.push(chunk);
        // Read one byte past the cap to know it was exceeded, then stop reading.
        if (received > maxBytes) {
          truncated = true;
          response.destroy();
          finish();
        }
      });
      response.on('end', finish);
      response.on('error', (error) => {
        if (truncated) return;
        done();
        reject(new TransientFailure(`the connection to the tool broke while reading its answer (${error.message})`));
      });
    });
    request.end(body);
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

const excerpt = (text: string) => (text.length > 500 ? `${text.slice(0, 500)}…` : text).trim();

/** Whether a non-2xx answer may succeed when sent again. */
const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

function networkMessage(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const detail = code ?? (error instanceof Error ? error.message : String(error));
  return `the tool could not be reached (${detail})`;
}

/** Calls an HTTP tool once for a model's tool call (retrying transient failures) and returns its result. */
export async function callHttpTool(tool: HttpTool, input: unknown, context: ToolCallContext, options: HttpToolOptions): Promise<ToolResult> {
  const settings = { ...httpToolDefaults, ...definedOnly(options) };
  const started = performance.now();
  const timeoutMs = (tool.timeoutSeconds ?? settings.defaultTimeoutSeconds) * 1000;
  const body = JSON.stringify({ runId: context.runId, stepIndex: context.stepIndex, toolCallId: context.toolCallId, name: tool.name, input });
  const messageId = toolCallMessageId(context.toolCallId);
  const result = (output: string, isError: boolean, attempts: number, extra: Partial<ToolResult> = {}): ToolResult => ({
    output,
    isError,
    warnings: [],
    attempts,
    durationMs: Math.round(performance.now() - started),
    ...extra,
  });
  const aborted = () => context.signal?.aborted === true;

  let target: URL;
  try {
    target = assertWebhookUrlSyntax(tool.url, { allowPrivate: options.allowPrivate });
  } catch (error) {
    return result(toolUrlMessage(error), true, 0);
  }

  let lastError = '';
  for (let attempt = 1; attempt <= settings.maxAttempts; attempt += 1) {
    if (aborted()) throw new ToolCallAbortedError(tool.name);
    const attemptSignal = childSignal(context.signal);
    let delayMs = Math.min(settings.baseDelayMs * 2 ** (attempt - 1), settings.maxDelayMs);
    try {
      const headers = webhookHeaders({ id: messageId, sentAt: new Date(), body }, options.secret);
      const answer = await exchange(
        target,
        body,
        headers,
        timeoutMs,
        settings.maxResultBytes,
        attemptSignal.signal,
        options.allowPrivate ? undefined : (options.lookup ?? systemResolver),
      );
      if (answer.status >= 200 && answer.status < 300) return success(answer, attempt);
      lastError = answer.status >= 300 && answer.status < 400 ? `the tool answered HTTP ${answer.status} (redirects are not followed)` : `the tool answered HTTP ${answer.status}${answer.body.trim() ? `: ${excerpt(answer.body)}` : ''}`;
      if (!retryableStatus(answer.status)) return result(lastError, true, attempt);
      const asked = retryAfterMs(answer.retryAfter);
      if (asked !== undefined) delayMs = Math.min(asked, settings.maxDelayMs);
    } catch (error) {
      if (aborted()) throw new ToolCallAbortedError(tool.name);
      if (error instanceof WebhookUrlError) return result(toolUrlMessage(error), true, attempt);
      lastError = error instanceof TransientFailure ? error.message : networkMessage(error);
    } finally {
      attemptSignal.release();
    }
    if (attempt < settings.maxAttempts) {
      try {
        await sleep(delayMs, context.signal);
      } catch {
        throw new ToolCallAbortedError(tool.name);
      }
    }
  }
  return result(`${lastError} (after ${settings.maxAttempts} attempts)`, true, settings.maxAttempts);

  function success(answer: Exchange, attempts: number): ToolResult {
    const cut = truncateUtf8(answer.body, settings.maxResultBytes);
    const warnings = cut.truncated ? [`the result of tool ${tool.name} was longer than ${settings.maxResultBytes} bytes and was truncated`] : [];
    if (!cut.truncated && /[/+]json\b/i.test(answer.contentType)) {
      try {
        const json = JSON.parse(cut.text);
        return result(JSON.stringify(json), false, attempts, { json, warnings });
      } catch {
        // A body that claims JSON but is not: the model gets the text.
      }
    }
    return result(cut.truncated ? `${cut.text}\n[truncated]` : cut.text, false, attempts, { warnings });
  }
}

function toolUrlMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `the tool's url was refused: ${message.replace(/^webhookUrl /, '')}`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

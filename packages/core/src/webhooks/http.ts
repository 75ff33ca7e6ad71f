import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';

export class WebhookTimeoutError extends Error {
  override name = 'WebhookTimeoutError';
}

export interface PostOptions {
  headers: Record<string, string>;
  timeoutMs: number;
  /** Resolves the host name (and may refuse it) before the socket connects. */
  lookup?: LookupFunction;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a JSON body and resolves with the response status once the response has been
 * read (its body is discarded). Redirects are not followed. The timeout covers the
 * whole exchange. Network failures and the timeout reject.
 */
export function postJson(url: URL, body: string, options: PostOptions): Promise<number> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: 'POST',
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'Conveyor-Webhooks/1',
      },
      agent: false,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    const timer = setTimeout(
      () => request.destroy(new WebhookTimeoutError(`no complete response within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      fn();
    };
    request.on('error', (error) => settle(() => reject(error)));
    request.on('response', (response) => {
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) response.destroy();
      });
      response.on('close', () => settle(() => resolve(response.statusCode ?? 0)));
    });
    request.end(body);
  });
}

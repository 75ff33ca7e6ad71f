/// <reference path="./autocannon.d.ts" />
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  body: unknown;
  connections: number;
  warmupSeconds: number;
  seconds: number;
}

export interface LoadResult {
  /** Successful (2xx) requests per second over the measured period. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  failed: number;
}

/** POSTs `body` to `url` from many connections: a warm-up that is thrown away, then the measured period. */
export async function postLoad(options: LoadOptions): Promise<LoadResult> {
  const request = {
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(options.body),
    connections: options.connections,
  };
  if (options.warmupSeconds > 0) await autocannon({ ...request, duration: options.warmupSeconds });
  const result = await autocannon({ ...request, duration: options.seconds });
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

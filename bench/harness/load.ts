/// <reference path="./autocannon.d.ts" />
import autocannon from 'autocannon';
import { type CpuGroup, cpuMicrosPer, cpuSeconds } from './cpu-time.ts';

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  body: unknown;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Processes whose CPU time per successful request is reported over the measured period. */
  cpuGroups?: Record<string, CpuGroup>;
}

export interface LoadResult {
  /** Successful (2xx) requests per second over the measured period. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  failed: number;
  /** CPU microseconds per successful request of each of `cpuGroups` (the server, Postgres, Redis). */
  cpuMicrosPerRequest?: Record<string, number>;
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
  const cpuBefore = options.cpuGroups && (await cpuSeconds(options.cpuGroups));
  const result = await autocannon({ ...request, duration: options.seconds });
  const cpuAfter = options.cpuGroups && (await cpuSeconds(options.cpuGroups));
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    ...(cpuBefore && cpuAfter ? { cpuMicrosPerRequest: cpuMicrosPer(cpuBefore, cpuAfter, result['2xx']) } : {}),
  };
}

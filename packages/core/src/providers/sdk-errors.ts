import { ProviderError } from './errors.ts';

/** The error shape both official SDKs share (Stainless-generated `APIError`). */
interface SdkApiError extends Error {
  status?: number;
  headers?: Headers;
}

const transientTypes = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error', 'server_error']);

const networkCodes = /^(ECONNRESET|ECONNREFUSED|ECONNABORTED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|UND_ERR_\w+)$/;
const networkMessages = /terminated|socket|network|fetch failed|premature close|other side closed|connection (error|reset|closed)/i;

/** Milliseconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function kindOfStatus(status: number): { kind: string; transient: boolean } {
  if (status === 429) return { kind: 'rate_limited', transient: true };
  if (status === 529 || status === 503) return { kind: 'overloaded', transient: true };
  if (status === 408 || status === 504) return { kind: 'timeout', transient: true };
  if (status === 409) return { kind: 'conflict', transient: true };
  if (status >= 500) return { kind: 'server_error', transient: true };
  if (status === 401) return { kind: 'auth', transient: false };
  if (status === 403) return { kind: 'forbidden', transient: false };
  if (status === 404) return { kind: 'not_found', transient: false };
  return { kind: 'bad_request', transient: false };
}

/** True for errors of the network layer: refused, reset or dropped connections. */
export function isNetworkError(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && networkCodes.test(code)) return true;
    if (networkMessages.test(current.message)) return true;
  }
  return false;
}

export interface SdkErrorClasses {
  APIError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
}

/**
 * Maps what an official SDK threw to a ProviderError.
 * `apiMessage` extracts the provider's own message and error type from the SDK error.
 */
export function classifySdkError(
  provider: string,
  error: unknown,
  classes: SdkErrorClasses,
  details: (error: SdkApiError) => { message: string | undefined; type: string | undefined },
): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof classes.APIConnectionTimeoutError) {
    return new ProviderError({ provider, kind: 'timeout', transient: true, message: 'the request timed out', cause: error });
  }
  if (error instanceof classes.APIConnectionError) {
    return new ProviderError({ provider, kind: 'connection', transient: true, message: `connection error: ${error.message}`, cause: error });
  }
  if (error instanceof classes.APIError) {
    const apiError = error as SdkApiError;
    const { message, type } = details(apiError);
    const text = message || apiError.message || 'provider error';
    if (apiError.status === undefined) {
      // An error event inside an otherwise successful stream.
      const transient = type === undefined || transientTypes.has(type);
      return new ProviderError({ provider, kind: type === 'overloaded_error' ? 'overloaded' : 'stream_error', transient, message: text, cause: error });
    }
    const { kind, transient } = kindOfStatus(apiError.status);
    return new ProviderError({
      provider,
      kind,
      transient,
      status: apiError.status,
      retryAfterMs: retryAfterMs(apiError.headers),
      message: text,
      cause: error,
    });
  }
  if (isNetworkError(error)) {
    return new ProviderError({ provider, kind: 'connection', transient: true, message: `connection error: ${(error as Error).message}`, cause: error });
  }
  return new ProviderError({ provider, kind: 'unexpected', transient: false, message: error instanceof Error ? error.message : String(error), cause: error });
}

/** The stream ended without the provider's final event: the connection was cut. */
export function incompleteStream(provider: string): ProviderError {
  return new ProviderError({ provider, kind: 'connection', transient: true, message: 'the reply stream ended before it was complete' });
}

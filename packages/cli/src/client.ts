import { ApiError, UnreachableError } from './errors.ts';

export interface ClientOptions {
  baseUrl: string;
  token: string | undefined;
}

/** CONVEYOR_URL (default http://127.0.0.1:3000) and CONVEYOR_TOKEN, else the first of API_TOKENS. */
export function clientOptionsFromEnv(env: Record<string, string | undefined> = process.env): ClientOptions {
  const baseUrl = (env.CONVEYOR_URL?.trim() || 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const token = env.CONVEYOR_TOKEN?.trim() || env.API_TOKENS?.split(',').map((t) => t.trim()).find(Boolean);
  return { baseUrl, token };
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

type Query = Record<string, string | number | undefined>;

/** The public HTTP API, and nothing else. */
export class ApiClient {
  constructor(readonly options: ClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, { body, headers });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path, {});
  }

  /** Every item of a paginated list. */
  async all<T>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.get<Page<T>>(path, { ...query, limit: 100, cursor });
      items.push(...page.data);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return items;
  }

  /** A raw response (for streams); API errors are thrown like any other request's. */
  async open(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const response = await this.fetch('GET', path, { headers, signal });
    if (!response.ok) throw await toApiError(response);
    return response;
  }

  private async request<T>(method: string, path: string, init: { query?: Query; body?: unknown; headers?: Record<string, string> }): Promise<T> {
    const response = await this.fetch(method, path, init);
    if (!response.ok) throw await toApiError(response);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private async fetch(
    method: string,
    path: string,
    init: { query?: Query; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Response> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(url, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new UnreachableError(this.baseUrl, networkCause(error));
    }
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (error && typeof error.code === 'string') {
      return new ApiError(response.status, error.code, typeof error.message === 'string' ? error.message : response.statusText, error.details);
    }
  } catch {
    // Not the API's error shape (a proxy, or something else on that port): report the status.
  }
  return new ApiError(response.status, `http_${response.status}`, response.statusText || 'unexpected response');
}

function networkCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

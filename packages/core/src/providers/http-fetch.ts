import type { Agent, Dispatcher } from 'undici';

/** Statuses whose response has no body (a `Response` refuses one). */
const nullBodyStatuses = new Set([101, 103, 204, 205, 304]);

let agent: Promise<Agent> | undefined;
/** undici loads with the first call, so a process that never calls a provider never holds it. */
const loadAgent = () => (agent ??= import('undici').then(({ Agent }) => new Agent({ keepAliveTimeout: 30_000 })));

/**
 * The `fetch` the provider SDKs are given: the same HTTP/1.1 exchange, dispatched on an undici
 * agent, which costs far less CPU per streamed call than the global `fetch` (Node's WHATWG
 * fetch) and than undici's `request` (whose body is a Node stream). It keeps what the SDKs rely
 * on: method, headers, body, abort signal, status, response headers and a streamed body.
 * Redirects are not followed (the model APIs answer directly); a refused connection or reset
 * rejects, as `fetch` does, and the SDKs report it as a connection error.
 */
export async function httpFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const dispatcher = await loadAgent();
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const method = (init.method ?? 'GET').toUpperCase();
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  return new Promise<Response>((resolve, reject) => {
    const exchange = new Exchange(method, url.href, signal, resolve, reject);
    dispatcher.dispatch(
      { origin: url.origin, path: `${url.pathname}${url.search}`, method: method as Dispatcher.HttpMethod, headers: headerList(init.headers), body: (init.body ?? null) as string | null },
      exchange,
    );
  });
}

/** The request's headers as undici's flat [name, value, …] list, without building a validated `Headers` again. */
function headerList(headers: RequestInit['headers']): string[] {
  const list: string[] = [];
  if (!headers) return list;
  const entries = headers instanceof Headers || Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of entries as Iterable<[string, string]>) list.push(name, value);
  return list;
}

/** Chunks a body buffers before the socket is paused, until the reader catches up. */
const HIGH_WATER_CHUNKS = 16;

/**
 * One request's dispatch handler: resolves the `Response` when the headers arrive, then feeds
 * its body. The body is read through a small queue of chunks rather than a Node stream and its
 * async iterator: a streamed answer is many small chunks, and that machinery was most of the
 * CPU and garbage per chunk in a worker holding many streaming calls.
 *
 * The chunks that arrive together (one socket read holds one HTTP chunk per event the provider
 * wrote since the last read) reach the reader as one: each chunk read costs the SDK a pass
 * through its chain of async iterators, and a busy worker reads several events at once.
 */
class Exchange implements Dispatcher.DispatchHandlers, AsyncIterator<Uint8Array> {
  #abort: ((error: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #paused = false;
  #responded = false;
  readonly #chunks: Uint8Array[] = [];
  #reader: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: unknown) => void } | undefined;
  /** The waiting reader is answered once the socket read in progress has handed over all its chunks. */
  #answerQueued = false;
  #ended = false;
  #error: unknown;
  readonly #onAbort = () => this.#abort?.(this.signal?.reason as Error);

  constructor(
    private readonly method: string,
    private readonly url: string,
    private readonly signal: AbortSignal | undefined,
    private readonly resolve: (response: Response) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  onConnect(abort: (error?: Error) => void): void {
    this.#abort = abort;
    if (this.signal?.aborted) this.#onAbort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null, resume: () => void, statusText: string): boolean {
    this.#resume = resume;
    const headers = new Headers();
    for (let i = 0; rawHeaders && i + 1 < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!.toString('latin1'), rawHeaders[i + 1]!.toString('latin1'));
    const hasBody = this.method !== 'HEAD' && !nullBodyStatuses.has(statusCode);
    const response = new Response(hasBody ? readableBody(this) : null, { status: statusCode, statusText, headers });
    Object.defineProperty(response, 'url', { value: this.url });
    this.#responded = true;
    this.resolve(response);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#ended) return true;
    this.#chunks.push(chunk);
    if (this.#reader) this.#queueAnswer();
    else this.#paused = this.#chunks.length >= HIGH_WATER_CHUNKS;
    return !this.#paused;
  }

  onComplete(): void {
    this.#finish();
    this.#ended = true;
    if (this.#reader) this.#queueAnswer();
  }

  onError(error: Error): void {
    this.#finish();
    if (!this.#responded) return this.reject(error);
    if (this.#ended) return;
    this.#error = error;
    if (this.#reader) this.#queueAnswer();
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    if (this.#chunks.length > 0) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  /** The reader stopped early (or cancelled the body): the rest is not wanted. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.#ended && this.#error === undefined) {
      this.#ended = true;
      this.#chunks.length = 0;
      this.#abort?.(new DOMException('The body was not read to its end.', 'AbortError'));
    }
    return { value: undefined, done: true };
  }

  /** undici hands over a read's chunks synchronously: a microtask runs once it has handed them all. */
  #queueAnswer(): void {
    if (this.#answerQueued) return;
    this.#answerQueued = true;
    queueMicrotask(this.#answer);
  }

  readonly #answer = (): void => {
    this.#answerQueued = false;
    const reader = this.#reader;
    if (!reader) return;
    // Cleared first: taking the chunks may resume a paused socket, whose data then waits for the next read.
    this.#reader = undefined;
    if (this.#chunks.length > 0) reader.resolve({ value: this.#take(), done: false });
    else if (this.#error !== undefined) reader.reject(this.#error);
    else if (this.#ended) reader.resolve({ value: undefined, done: true });
    else this.#reader = reader;
  };

  /** Every chunk buffered, as one. */
  #take(): Uint8Array {
    const chunks = this.#chunks;
    const chunk = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    chunks.length = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#resume?.();
    }
    return chunk;
  }

  #finish(): void {
    this.signal?.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * The response body as a web stream that is read only when something asks it for a chunk (so
 * `json()` and `text()` work as usual), and whose async iterator, which the SDKs use to read a
 * streamed answer, is the exchange itself.
 */
function readableBody(chunks: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  Object.defineProperty(stream, Symbol.asyncIterator, { value: () => chunks });
  return stream;
}

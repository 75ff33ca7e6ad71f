/** What the emulator does with the next request(s): scripted failures, replies and pacing. */

export type EmulatedProvider = 'anthropic' | 'openai';

export interface Pacing {
  /** Delay before the first byte of the response, in milliseconds. */
  latencyMs: number;
  /** Streaming speed: text chunks (≈ tokens) per second; 0 means as fast as possible. */
  tokensPerSecond: number;
}

/** A tool call the model makes; without `input` one valid for the tool's input schema is made up. */
export interface ScriptedToolCall {
  name: string;
  input?: unknown;
}

/** One entry of the script queue. It is consumed by the first request it applies to. */
export interface ScriptedResponse extends Partial<Pacing> {
  /** Only requests to this provider consume the entry; absent means either. */
  provider?: EmulatedProvider;
  /** Only requests for this model consume the entry (e.g. to make one model fail and its fallback answer); absent means any. */
  model?: string;
  /** Answer with this HTTP error status (400, 401, 403, 404, 429, 500, 503, 529, ...). */
  status?: number;
  /** The error message in the provider's error body. */
  message?: string;
  /** `retry-after` header value in seconds (sent with any error status). */
  retryAfterSeconds?: number;
  /** Reply text instead of the default one derived from the prompt. */
  reply?: string;
  /** Call these tools (in parallel when several, unless the request disallows it) instead of answering. */
  toolCalls?: ScriptedToolCall[];
  /** The structured answer (or forced tool input) to give, valid or not. */
  json?: unknown;
  /** Give a structured answer that does not match the requested schema. */
  invalidOutput?: boolean;
  /** Cached prompt tokens to report (Anthropic cache reads / OpenAI cached_tokens). */
  cacheReadTokens?: number;
  /** Prompt tokens written to the cache (Anthropic only). */
  cacheWriteTokens?: number;
  /** Streaming only: destroy the connection after this many text chunks. */
  dropAfterChunks?: number;
  /**
   * Streaming only, with `status`: start a normal stream and send the error as an
   * in-stream error event after this many chunks (e.g. Anthropic's mid-stream overload).
   */
  errorAfterChunks?: number;
}

export class Script {
  #queue: ScriptedResponse[] = [];
  #defaults: Pacing;
  readonly #initial: Pacing;

  constructor(defaults: Pacing) {
    this.#initial = { ...defaults };
    this.#defaults = { ...defaults };
  }

  get defaults(): Pacing {
    return { ...this.#defaults };
  }

  setDefaults(pacing: Partial<Pacing>): void {
    this.#defaults = { ...this.#defaults, ...definedOnly(pacing) };
  }

  push(...entries: ScriptedResponse[]): void {
    this.#queue.push(...entries);
  }

  get pending(): number {
    return this.#queue.length;
  }

  /** Removes and returns the first entry that applies to `provider` and `model`, if any. */
  take(provider: EmulatedProvider, model?: string): ScriptedResponse | undefined {
    const index = this.#queue.findIndex((entry) => (!entry.provider || entry.provider === provider) && (!entry.model || entry.model === model));
    if (index < 0) return undefined;
    return this.#queue.splice(index, 1)[0];
  }

  reset(): void {
    this.#queue = [];
    this.#defaults = { ...this.#initial };
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

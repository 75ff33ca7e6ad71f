/** Errors of the provider layer. `transient` says whether trying again may succeed. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly provider: string;
  readonly status: number | undefined;
  readonly transient: boolean;
  /** Milliseconds the provider asked us to wait (`retry-after`), if it said. */
  readonly retryAfterMs: number | undefined;
  /** `rate_limited`, `overloaded`, `server_error`, `timeout`, `connection`, `bad_request`, `auth`, `not_found`, `aborted`, ... */
  readonly kind: string;

  constructor(init: {
    provider: string;
    message: string;
    kind: string;
    transient: boolean;
    status?: number;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.provider = init.provider;
    this.kind = init.kind;
    this.transient = init.transient;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** The call was aborted by the caller's AbortSignal (cancel, timeout of the run). */
export class ProviderAbortedError extends ProviderError {
  override name = 'ProviderAbortedError';
  constructor(provider: string, cause?: unknown) {
    super({ provider, message: 'the call was aborted', kind: 'aborted', transient: false, cause });
  }
}

/** A model id that no registered provider serves. The API answers it with a 400. */
export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`unknown model "${model}"`);
  }
}

/** A provider that has no API key (stored or in the environment). */
export class ProviderNotConfiguredError extends Error {
  override name = 'ProviderNotConfiguredError';
  constructor(readonly provider: string) {
    super(`provider "${provider}" has no API key`);
  }
}

/** Storing or reading a provider key needs ENCRYPTION_KEY, which is not set. */
export class EncryptionKeyMissingError extends Error {
  override name = 'EncryptionKeyMissingError';
  constructor() {
    super('ENCRYPTION_KEY is not set: provider keys cannot be stored or read');
  }
}

/** A provider id that is not registered. */
export class UnknownProviderError extends Error {
  override name = 'UnknownProviderError';
  constructor(readonly provider: string) {
    super(`unknown provider "${provider}"`);
  }
}

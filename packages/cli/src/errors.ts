/** Exit codes scripts can rely on. */
export const ExitCode = {
  ok: 0,
  /** The API refused the request (validation, conflict, auth, server error). */
  apiError: 1,
  /** Bad arguments, or an unreadable or invalid definition file. */
  usage: 2,
  /** The id does not exist. */
  notFound: 3,
  /** The API did not answer at CONVEYOR_URL. */
  unreachable: 4,
  /** A followed run ended failed or canceled. */
  runFailed: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and a specific exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

export class DefinitionFileError extends CliError {
  override name = 'DefinitionFileError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`, ExitCode.usage);
  }
}

/** The API answered with its error shape `{error: {code, message, details}}`. */
export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    readonly details?: unknown,
  ) {
    super(`${code}: ${apiMessage}`, status === 404 ? ExitCode.notFound : ExitCode.apiError);
  }
}

export class UnreachableError extends CliError {
  override name = 'UnreachableError';
  constructor(
    readonly baseUrl: string,
    cause: string,
  ) {
    super(`cannot reach the Conveyor API at ${baseUrl} (${cause}); is it running? Set CONVEYOR_URL to point elsewhere`, ExitCode.unreachable);
  }
}

import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The one error shape of the API: `{ error: { code, message, details } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** An error the API answers as is, with its status and code. Anything else is a 500. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const validationError = (message: string, details?: unknown) => new ApiError(400, 'validation_error', message, details);
export const unauthorized = () => new ApiError(401, 'unauthorized', 'a valid bearer token is required');
export const notFound = (resource: string, id: string) => new ApiError(404, 'not_found', `${resource} ${id} not found`);
export const conflict = (message: string, details?: unknown) => new ApiError(409, 'conflict', message, details);
export const payloadTooLarge = (limit: number) => new ApiError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
export const unavailable = (message: string) => new ApiError(503, 'unavailable', message);

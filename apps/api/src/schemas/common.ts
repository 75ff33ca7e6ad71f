import { z } from '@hono/zod-openapi';
import './messages.ts';

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_error' }),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export const IdParams = z.object({
  id: z.string().min(1).max(100).openapi({ param: { name: 'id', in: 'path' }, example: 'agt_0mf3k2x1a9b8c7d6e5f4g3h2' }),
});

export const Timestamp = z.string().openapi({ format: 'date-time', example: '2026-01-31T12:00:00.000Z' });

/** An absolute http(s) URL. */
export const HttpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL')
  .openapi({ format: 'uri', example: 'https://example.com/hooks/conveyor' });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: 'Items per page (1-100).' }),
  cursor: z.string().max(512).optional().openapi({ description: 'The `nextCursor` of the previous page.' }),
});

export const Usage = z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }).openapi('Usage');

export const DecimalString = z.string().openapi({ example: '0.004215', description: 'USD, as a decimal string' });

/** A budget in USD: a non-negative decimal string with at most 12 decimals (no exponent, no sign). */
export const MaxCostUsd = z
  .string()
  .regex(/^\d{1,18}(\.\d{1,12})?$/, 'a decimal string of US dollars such as "0.50" (at most 12 decimals)')
  .openapi({
    example: '0.50',
    description: "The run's budget in USD. Before each model call the cost so far plus the call's worst case must fit, else the run fails with `budget_exceeded` without the call.",
  });

/** `{ data, nextCursor }` for a list of items. */
export const pageOf = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ data: z.array(item), nextCursor: z.string().nullable() }).openapi(name);

export type PageInput = z.output<typeof PageQuery>;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Error responses, for route definitions. */
export const errorResponses = (...statuses: (400 | 401 | 404 | 409 | 413 | 429 | 502 | 503)[]) => {
  const descriptions = {
    400: 'Invalid request',
    401: 'Missing or invalid bearer token',
    404: 'Not found',
    409: 'Conflict',
    413: 'Request body too large',
    429: 'Over API_RATE_LIMIT for this token (see Retry-After)',
    502: 'A server Conveyor asked on your behalf could not be reached or failed',
    503: 'Unavailable',
  } as const;
  return Object.fromEntries(
    [...new Set([400, 401, 429, ...statuses] as const)].map((status) => [
      status,
      { description: descriptions[status], content: { 'application/json': { schema: ErrorSchema } } },
    ]),
  ) as Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }>;
};

/** A JSON response, for route definitions. */
export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A required JSON request body, for route definitions. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

/** An optional JSON request body: a request without one is validated as `{}`. */
export const optionalJsonBody = <T extends z.ZodType>(schema: T) => ({
  required: false,
  content: { 'application/json': { schema } },
});

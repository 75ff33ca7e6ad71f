import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.ts';
import { validationHook } from '../middleware/errors.ts';

/** A router whose validation failures answer 400 `validation_error` in the API's error shape. */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** Bearer auth on a documented route. */
export const bearer = [{ bearerAuth: [] }];

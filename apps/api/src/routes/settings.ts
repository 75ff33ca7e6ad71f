import { createRoute } from '@hono/zod-openapi';
import { errorResponses, jsonBody, jsonResponse as json } from '../schemas/common.ts';
import { PutSettingsBody, SettingsSchema } from '../schemas/models.ts';
import { getSettings, putSettings } from '../services/settings.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Models and settings'];

export const settingsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/settings',
      tags,
      security: bearer,
      summary: 'Settings',
      responses: { 200: json(SettingsSchema, 'Settings'), ...errorResponses() },
    }),
    async (c) => c.json(await getSettings(c.get('deps')), 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/settings',
      tags,
      security: bearer,
      summary: 'Set the default model (a model listed by GET /v1/models)',
      request: { body: jsonBody(PutSettingsBody) },
      responses: { 200: json(SettingsSchema, 'Settings'), ...errorResponses(413) },
    }),
    async (c) => c.json(await putSettings(c.get('deps'), c.req.valid('json')), 200),
  );

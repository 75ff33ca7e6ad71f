import { createRoute } from '@hono/zod-openapi';
import { errorResponses, jsonResponse as json } from '../schemas/common.ts';
import { ModelsSchema } from '../schemas/models.ts';
import { listModels } from '../services/models.ts';
import { bearer, createRouter } from './router.ts';

export const modelsRoutes = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/models',
    tags: ['Models and settings'],
    security: bearer,
    summary: 'Models grouped by provider (only providers that have a key), with prices, and the default model',
    responses: { 200: json(ModelsSchema, 'Models'), ...errorResponses() },
  }),
  async (c) => c.json(await listModels(c.get('deps')), 200),
);

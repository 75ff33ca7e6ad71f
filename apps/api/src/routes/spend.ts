import { createRoute } from '@hono/zod-openapi';
import { errorResponses, jsonResponse as json } from '../schemas/common.ts';
import { SpendQuery, SpendSchema } from '../schemas/spend.ts';
import { getSpend } from '../services/spend.ts';
import { bearer, createRouter } from './router.ts';

export const spendRoutes = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/spend',
    tags: ['Cost'],
    security: bearer,
    summary: 'Spend over a time range: exact sums of cost and tokens, grouped by day, pipeline, model or provider',
    description:
      'A cost counts at the time of the model call that incurred it (whenever its step finished); `from` is inclusive, `to` exclusive; days are UTC. Totals cover the whole range.',
    request: { query: SpendQuery },
    responses: { 200: json(SpendSchema, 'Spend'), ...errorResponses() },
  }),
  async (c) => c.json(await getSpend(c.get('deps'), c.req.valid('query')), 200),
);

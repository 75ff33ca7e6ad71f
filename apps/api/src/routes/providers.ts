import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, jsonBody, jsonResponse as json } from '../schemas/common.ts';
import { ProviderParams, ProviderStatusSchema, PutProviderKeyBody } from '../schemas/providers.ts';
import { assertProviderBaseUrlAllowed } from '../services/provider-url.ts';
import { deleteProviderKey, listProviders, putProviderKey } from '../services/providers.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Providers'];

export const providersRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/providers',
      tags,
      security: bearer,
      summary: 'Providers and whether they have a key',
      responses: { 200: json(z.array(ProviderStatusSchema), 'Every provider'), ...errorResponses() },
    }),
    async (c) => c.json(await listProviders(c.get('deps')), 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/providers/{id}/key',
      tags,
      security: bearer,
      summary: 'Store a provider key (encrypted; never returned)',
      description: 'A `baseUrl` on a loopback, private, link-local or metadata address is refused unless `PROVIDER_ALLOW_PRIVATE=true`.',
      request: { params: ProviderParams, body: jsonBody(PutProviderKeyBody) },
      responses: { 200: json(ProviderStatusSchema, 'The provider'), ...errorResponses(404, 413, 503) },
    }),
    async (c) => {
      const body = c.req.valid('json');
      await assertProviderBaseUrlAllowed(c.get('deps'), body.baseUrl, ['body', 'baseUrl']);
      return c.json(await putProviderKey(c.get('deps'), c.req.valid('param').id, body), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/providers/{id}/key',
      tags,
      security: bearer,
      summary: 'Remove the stored key of a provider',
      request: { params: ProviderParams },
      responses: { 204: { description: 'Removed' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deleteProviderKey(c.get('deps'), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

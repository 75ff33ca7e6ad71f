import { z } from '@hono/zod-openapi';
import { HttpUrl } from './common.ts';

export const ProviderParams = z.object({
  id: z.string().min(1).max(50).openapi({ param: { name: 'id', in: 'path' }, example: 'anthropic' }),
});

export const PutProviderKeyBody = z
  .strictObject({
    apiKey: z.string().trim().min(1).max(1000).openapi({ description: 'Stored encrypted; never returned.' }),
    baseUrl: HttpUrl.optional().openapi({ description: 'The endpoint in the form the official SDK takes it.' }),
  })
  .openapi('PutProviderKey');

export const ProviderStatusSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    configured: z.boolean(),
    source: z.enum(['stored', 'env']).nullable(),
    keyHint: z.string().nullable().openapi({ description: 'At most the last 4 characters of the key.', example: '…x9Qa' }),
  })
  .openapi('ProviderStatus');

export type PutProviderKeyInput = z.output<typeof PutProviderKeyBody>;
export type ProviderStatusJson = z.output<typeof ProviderStatusSchema>;

import { z } from '@hono/zod-openapi';
import { DecimalString } from './common.ts';

const PerMillion = DecimalString.openapi({ description: 'USD per million tokens' });
const CachePerMillion = DecimalString.nullable().openapi({ description: 'USD per million tokens; null when not charged separately' });

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: 'claude-sonnet-4-5' }),
    name: z.string(),
    contextWindow: z.number().int(),
    prices: z.object({ input: PerMillion, output: PerMillion, cacheRead: CachePerMillion, cacheWrite: CachePerMillion }),
  })
  .openapi('Model');

export const ModelsSchema = z
  .object({
    providers: z.array(z.object({ id: z.string(), name: z.string(), models: z.array(ModelSchema) })),
    default: z.string().nullable().openapi({ description: 'The default model from settings, used by agents whose model is `__default__`.' }),
  })
  .openapi('Models');

export const SettingsSchema = z.object({ defaultModel: z.string().nullable() }).openapi('Settings');

export const PutSettingsBody = z
  .strictObject({
    defaultModel: z.string().trim().min(1).max(200).nullable().openapi({ description: 'A model listed by `GET /v1/models`, or `null` to unset the default.' }),
  })
  .openapi('PutSettings');

export type ModelJson = z.output<typeof ModelSchema>;
export type ModelsJson = z.output<typeof ModelsSchema>;
export type SettingsJson = z.output<typeof SettingsSchema>;
export type PutSettingsInput = z.output<typeof PutSettingsBody>;

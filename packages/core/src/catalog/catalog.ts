import { readFileSync } from 'node:fs';
import { z } from 'zod';

const price = z.string().regex(/^\d+(\.\d+)?$/, 'a decimal string');

const catalogSchema = z.object({
  currency: z.literal('USD'),
  providers: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      pricesCheckedOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      pricesSource: z.url(),
      models: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          contextWindow: z.number().int().positive(),
          aliases: z.array(z.string()).optional(),
          retired: z.boolean().optional(),
          prices: z.object({ input: price, output: price, cacheRead: price.nullable(), cacheWrite: price.nullable() }),
        }),
      ),
    }),
  ),
});

/** USD per million tokens, as exact decimal strings. `null`: not charged separately (billed as plain input). */
export interface ModelPrices {
  input: string;
  output: string;
  cacheRead: string | null;
  cacheWrite: string | null;
}

export interface CatalogModel {
  id: string;
  name: string;
  provider: string;
  contextWindow: number;
  /** Dated snapshots and other ids that bill the same. */
  aliases: string[];
  /** Still priced (past usage), no longer offered for new agents. */
  retired: boolean;
  prices: ModelPrices;
}

export interface ProviderModels {
  provider: string;
  name: string;
  /** When and where the prices were read. */
  pricesCheckedOn: string;
  pricesSource: string;
  models: CatalogModel[];
}

const data = catalogSchema.parse(JSON.parse(readFileSync(new URL('./models.json', import.meta.url), 'utf8')));

const catalog: ProviderModels[] = data.providers.map((p) => ({
  provider: p.id,
  name: p.name,
  pricesCheckedOn: p.pricesCheckedOn,
  pricesSource: p.pricesSource,
  models: p.models.map((m) => ({ ...m, provider: p.id, aliases: m.aliases ?? [], retired: m.retired ?? false })),
}));

const byId = new Map<string, CatalogModel>();
for (const group of catalog) {
  for (const model of group.models) {
    for (const id of [model.id, ...model.aliases]) byId.set(`${model.provider}:${id}`, model);
  }
}

/** `-20250929` or `-2024-08-06` at the end of a snapshot id. */
const dateSuffix = /-\d{4}-?\d{2}-?\d{2}$/;

function bareModel(model: string): { provider?: string; id: string } {
  const colon = model.indexOf(':');
  return colon > 0 ? { provider: model.slice(0, colon), id: model.slice(colon + 1) } : { id: model };
}

/**
 * The catalog entry for a model id: exact id or alias, else the same id without
 * a snapshot date. `provider:model` looks only in that provider.
 */
export function findModel(model: string): CatalogModel | undefined {
  const { provider, id } = bareModel(model);
  const providers = provider ? [provider] : catalog.map((g) => g.provider);
  for (const candidate of [id, id.replace(dateSuffix, '')]) {
    for (const p of providers) {
      const found = byId.get(`${p}:${candidate}`);
      if (found) return found;
    }
  }
  return undefined;
}

export interface ListModelsOptions {
  /** Only these providers (e.g. the configured ones). */
  providers?: readonly string[];
  includeRetired?: boolean;
}

/** Models grouped by provider, in catalog order (newest first within a provider). */
export function listModels(options: ListModelsOptions = {}): ProviderModels[] {
  return catalog
    .filter((group) => !options.providers || options.providers.includes(group.provider))
    .map((group) => ({ ...group, models: group.models.filter((m) => options.includeRetired || !m.retired) }));
}

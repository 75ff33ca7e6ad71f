import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { compareOrdinal } from '../text/ordinal.ts';

const price = z.string().regex(/^\d+(\.\d+)?$/, 'a decimal string');
const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day, YYYY-MM-DD');

const rates = {
  input: price,
  output: price,
  cacheRead: price.nullable(),
  cacheWrite: price.nullable(),
  cacheWrite1h: price.nullable().optional(),
};

const datedPriceSchema = z.object({
  effectiveFrom: day,
  ...rates,
  /** The whole request at these rates when its prompt (input + cache reads + cache writes) exceeds the threshold. */
  longContext: z.object({ abovePromptTokens: z.number().int().positive(), ...rates }).optional(),
  source: z.url(),
  checkedOn: day,
  /** How the price was checked: on the provider's own page, from sources quoting it, or no copy of the official page was found. */
  verification: z.enum(['official', 'secondary', 'not-found']),
  note: z.string().optional(),
});

const cacheRule = z.enum(['cacheRead', 'cacheWrite', 'cacheWrite1h']);

const catalogSchema = z.object({
  currency: z.literal('USD'),
  providers: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      pricesCheckedOn: day,
      pricesSource: z.url(),
      /** Published cache prices as multiples of the input price. */
      cacheRules: z.record(cacheRule, price).optional(),
      models: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          contextWindow: z.number().int().positive(),
          maxOutputTokens: z.number().int().positive(),
          aliases: z.array(z.string()).optional(),
          retired: z.boolean().optional(),
          /** OpenAI: the published discount on cached input (0.9 = cached input costs 10 % of input). */
          cacheDiscount: price.optional(),
          /** Departures from the provider's published cache rules, each with its source. */
          exceptions: z.array(z.object({ rule: z.union([cacheRule, z.literal('cacheDiscount')]), source: z.url(), note: z.string() })).optional(),
          notes: z.string().optional(),
          prices: z.array(datedPriceSchema).min(1),
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

/** Rates of one tier; `cacheWrite1h` absent or null: 1-hour writes at the 5-minute write rate. */
export interface TierRates extends ModelPrices {
  cacheWrite1h?: string | null;
}

export type DatedPrice = z.infer<typeof datedPriceSchema>;
export type CacheRule = z.infer<typeof cacheRule>;
export type PriceException = NonNullable<z.infer<typeof catalogSchema>['providers'][number]['models'][number]['exceptions']>[number];

export interface CatalogModel {
  id: string;
  name: string;
  provider: string;
  contextWindow: number;
  maxOutputTokens: number;
  /** Dated snapshots and other ids that bill the same. */
  aliases: string[];
  /** Still priced (past usage), no longer offered for new agents. */
  retired: boolean;
  /** The base-tier prices in force when the catalog was loaded (listModels re-reads them for its `at`; costs use priceAt). */
  prices: ModelPrices;
  /** Every price the model has had, oldest first. */
  priceHistory: DatedPrice[];
  cacheDiscount?: string;
  exceptions: PriceException[];
  notes?: string;
}

export interface ProviderModels {
  provider: string;
  name: string;
  /** When and where the prices were read. */
  pricesCheckedOn: string;
  pricesSource: string;
  cacheRules?: Partial<Record<CacheRule, string>>;
  models: CatalogModel[];
}

const data = catalogSchema.parse(JSON.parse(readFileSync(new URL('./models.json', import.meta.url), 'utf8')));

/** The UTC day of an instant, YYYY-MM-DD. */
export function utcDay(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('an invalid date has no price');
  return at.toISOString().slice(0, 10);
}

function sortedByDay(prices: DatedPrice[]): DatedPrice[] {
  return [...prices].sort((a, b) => compareOrdinal(a.effectiveFrom, b.effectiveFrom));
}

/**
 * The price in force at `at`: the latest whose effectiveFrom is on or before the call's UTC day.
 * A call before the first known price (a model cannot be called before it exists) gets the first.
 */
export function priceAt(model: Pick<CatalogModel, 'priceHistory'>, at: Date): DatedPrice {
  const today = utcDay(at);
  let found = model.priceHistory[0]!;
  for (const candidate of model.priceHistory) if (candidate.effectiveFrom <= today) found = candidate;
  return found;
}

function baseRates(p: DatedPrice): ModelPrices {
  return { input: p.input, output: p.output, cacheRead: p.cacheRead, cacheWrite: p.cacheWrite };
}

const catalog: ProviderModels[] = data.providers.map((p) => ({
  provider: p.id,
  name: p.name,
  pricesCheckedOn: p.pricesCheckedOn,
  pricesSource: p.pricesSource,
  ...(p.cacheRules ? { cacheRules: p.cacheRules } : {}),
  models: p.models.map((m) => {
    const priceHistory = sortedByDay(m.prices);
    return {
      id: m.id,
      name: m.name,
      provider: p.id,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      aliases: m.aliases ?? [],
      retired: m.retired ?? false,
      prices: baseRates(priceAt({ priceHistory }, new Date())),
      priceHistory,
      ...(m.cacheDiscount ? { cacheDiscount: m.cacheDiscount } : {}),
      exceptions: m.exceptions ?? [],
      ...(m.notes ? { notes: m.notes } : {}),
    };
  }),
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
  /** Prices in force at this time (default: now). */
  at?: Date;
}

/** Models grouped by provider, in catalog order (newest first within a provider), with the prices in force. */
export function listModels(options: ListModelsOptions = {}): ProviderModels[] {
  const at = options.at ?? new Date();
  return catalog
    .filter((group) => !options.providers || options.providers.includes(group.provider))
    .map((group) => ({
      ...group,
      models: group.models.filter((m) => options.includeRetired || !m.retired).map((m) => ({ ...m, prices: baseRates(priceAt(m, at)) })),
    }));
}

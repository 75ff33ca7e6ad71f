import type { Database } from '../db/client.ts';

/** An agent whose model is this uses the default model from settings, read when the step runs. */
export const DEFAULT_MODEL = '__default__';

/** The `settings` row that holds the default model (a JSON string). */
export const DEFAULT_MODEL_SETTING = 'defaultModel';

export async function readDefaultModel(db: Database): Promise<string | undefined> {
  const row = await db.setting.findUnique({ where: { key: DEFAULT_MODEL_SETTING } });
  return typeof row?.value === 'string' && row.value !== '' ? row.value : undefined;
}

import type { Database } from '../db/client.ts';

/** An agent whose model is this uses the default model from settings, resolved when its run starts. */
export const DEFAULT_MODEL = '__default__';

/** The `settings` row that holds the default model (a JSON string). */
export const DEFAULT_MODEL_SETTING = 'defaultModel';

type Db = Pick<Database, 'setting'>;

/** The default model, or undefined when none is set (no row, or not a non-empty string). */
export async function readDefaultModel(db: Db): Promise<string | undefined> {
  const row = await db.setting.findUnique({ where: { key: DEFAULT_MODEL_SETTING } });
  return typeof row?.value === 'string' && row.value !== '' ? row.value : undefined;
}

/** Sets the default model; `null` unsets it. The caller checks that the model is one a configured provider serves. */
export async function writeDefaultModel(db: Db, model: string | null): Promise<void> {
  if (model === null) {
    await db.setting.deleteMany({ where: { key: DEFAULT_MODEL_SETTING } });
    return;
  }
  await db.setting.upsert({ where: { key: DEFAULT_MODEL_SETTING }, create: { key: DEFAULT_MODEL_SETTING, value: model }, update: { value: model } });
}

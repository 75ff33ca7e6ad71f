import type { Config } from '../config.ts';
import { createDatabase } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { configuredProviders } from './credentials.ts';

/**
 * A worker with no provider key (in the environment or stored through the API) fails every run
 * at its first step: say so once at start, with the way out, rather than start silently.
 */
export async function warnIfNoProviderConfigured(config: Config, logger: Logger): Promise<void> {
  const db = createDatabase(config.DATABASE_URL, { max: 1, transactionPooler: config.DATABASE_TRANSACTION_POOLER });
  try {
    if ((await configuredProviders(db, config)).length > 0) return;
    logger.warn(
      'no provider is configured (no ANTHROPIC_API_KEY or OPENAI_API_KEY, no key stored in Settings): runs will fail until one is; to try Conveyor without keys, point the providers at the LLM emulator (README, "Running it yourself")',
    );
  } catch (error) {
    logger.debug({ err: error }, 'could not check the configured providers');
  } finally {
    await db.$disconnect();
  }
}

import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCost } from '../catalog/cost.ts';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { testConfig } from '../../testkit/index.ts';
import './all.ts';
import { createProvider } from './credentials.ts';
import { registry } from './registry.ts';

let emulator: Emulator;
let config: Config;
/** No stored keys: this test is about the environment configuration (other test files store keys concurrently). */
const db = { providerCredential: { findUnique: async () => null, findMany: async () => [] } } as unknown as Database;

beforeAll(async () => {
  emulator = await startEmulator();
  config = testConfig({
    ANTHROPIC_API_KEY: 'sk-ant-env-key-0001',
    OPENAI_API_KEY: 'sk-openai-env-key-0002',
    ANTHROPIC_BASE_URL: emulator.anthropicBaseUrl,
    OPENAI_BASE_URL: emulator.openaiBaseUrl,
  });
});
afterAll(async () => {
  await emulator.close();
});

describe('a model id to a streamed reply with an exact cost', () => {
  it.each([
    ['claude-haiku-4-5', 'anthropic'],
    ['gpt-4o-mini', 'openai'],
  ])('%s resolves to %s, streams through the configured endpoint and is priced exactly', async (modelId, providerId) => {
    const { provider: definition, model } = registry.resolve(modelId);
    expect(definition.id).toBe(providerId);
    const provider = await createProvider(db, config, definition.id);
    const deltas: string[] = [];
    const result = await provider.chat({ model, messages: [{ role: 'user', content: 'Summarise the report.' }], onDelta: (t) => deltas.push(t) });

    expect(deltas.join('')).toBe(result.text);
    expect(result.text).toBe(`Reply from ${modelId}: Summarise the report.`);
    expect(result.usage).toEqual({ inputTokens: 6, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 });
    const expected = { 'claude-haiku-4-5': '0.000036', 'gpt-4o-mini': '0.0000045' }[modelId];
    expect(computeCost(result.model, result.usage)).toEqual({ cost: expected, warnings: [] });
  });
});

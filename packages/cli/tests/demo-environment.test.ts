import { describe, expect, it } from 'vitest';
import { demoEnvironment, demoStorage, providerPlans } from '../../../scripts/demo/environment.ts';

describe('the demo environment', () => {
  it('keeps its own database on the configured server and its own Redis prefix', () => {
    expect(demoStorage({ DATABASE_URL: 'postgresql://u:p@db.internal:6543/conveyor?sslmode=disable' })).toEqual({
      DATABASE_URL: 'postgresql://u:p@db.internal:6543/conveyor_demo?sslmode=disable',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'conveyor-demo',
    });
    expect(demoStorage({ DEMO_DATABASE_URL: 'postgresql://x@h/d', DEMO_REDIS_PREFIX: 'p', REDIS_URL: 'redis://r:1' })).toEqual({
      DATABASE_URL: 'postgresql://x@h/d',
      REDIS_URL: 'redis://r:1',
      REDIS_PREFIX: 'p',
    });
  });

  it('uses the real service for a provider whose key is set and the emulator for the other', () => {
    const base = { ANTHROPIC_API_KEY: 'sk-ant-real', OPENAI_API_KEY: ' ' };
    const plans = providerPlans(base);
    expect(plans).toEqual([
      { provider: 'anthropic', real: true },
      { provider: 'openai', real: false },
    ]);
    const { env, apiUrl } = demoEnvironment(base, {
      port: 3999,
      plans,
      emulator: { anthropicBaseUrl: 'http://127.0.0.1:4010', openaiBaseUrl: 'http://127.0.0.1:4010/v1' },
    });
    expect(apiUrl).toBe('http://127.0.0.1:3999');
    expect(env).toMatchObject({
      ANTHROPIC_API_KEY: 'sk-ant-real',
      OPENAI_API_KEY: 'emulated-key',
      OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1',
      HOST: '127.0.0.1',
      PORT: '3999',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    expect(env.ANTHROPIC_BASE_URL).toBeUndefined();
    expect(env.WEBHOOK_SECRET).toMatch(/^whsec_/);
  });
});

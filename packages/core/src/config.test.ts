import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('configuration', () => {
  it('applies the defaults from the spec when nothing is set', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgresql://postgres:postgres@127.0.0.1:5432/conveyor');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.PORT).toBe(3000);
    expect(config.WORKER_CONCURRENCY).toBe(10);
    expect(config.RUN_MAX_DURATION_SECONDS).toBe(3600);
    expect(config.WEBHOOK_RETRY_SCHEDULE).toEqual([5, 300, 1800, 7200, 18000, 36000]);
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(false);
    expect(config.PROVIDER_CONCURRENCY).toEqual({});
    expect(config.LOG_LEVEL).toBe('info');
  });

  it('parses lists, keys and limits', () => {
    const config = loadConfig({
      API_TOKENS: 'token-one-123, token-two-456',
      ENCRYPTION_KEY: 'a'.repeat(64),
      PROVIDER_CONCURRENCY: 'anthropic=20,openai=50',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    expect(config.API_TOKENS).toEqual(['token-one-123', 'token-two-456']);
    expect(config.ENCRYPTION_KEY?.length).toBe(32);
    expect(config.PROVIDER_CONCURRENCY).toEqual({ anthropic: 20, openai: 50 });
    expect(config.WEBHOOK_ALLOW_PRIVATE).toBe(true);
    expect(loadConfig({ ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') }).ENCRYPTION_KEY?.length).toBe(32);
  });

  const malformed: Array<[string, string]> = [
    ['DATABASE_URL', 'mysql://localhost/x'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['API_TOKENS', 'short'],
    ['ENCRYPTION_KEY', 'too-short'],
    ['WEBHOOK_SECRET', 'plain-secret'],
    ['ANTHROPIC_BASE_URL', 'ftp://example'],
    ['OPENAI_BASE_URL', 'localhost:8080'],
    ['PORT', '70000'],
    ['PORT', 'eighty'],
    ['WORKER_CONCURRENCY', '0'],
    ['WORKER_CONCURRENCY', '-3'],
    ['PROVIDER_CONCURRENCY', 'anthropic'],
    ['RUN_MAX_DURATION_SECONDS', '1.5'],
    ['WEBHOOK_RETRY_SCHEDULE', '5,soon'],
    ['WEBHOOK_ALLOW_PRIVATE', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['PROVIDER_ALLOW_PRIVATE', 'maybe'],
    ['TRUST_PROXY', 'sometimes'],
    ['API_RATE_LIMIT', '50'],
    ['API_RATE_LIMIT', '0/s'],
    ['API_RATE_LIMIT', '50/d'],
    ['ENCRYPTION_KEYS_OLD', `${'a'.repeat(64)},short`],
    ['OPENAI_BASE_URL', 'http://169.254.169.254/v1'],
    ['ANTHROPIC_BASE_URL', 'http://127.0.0.1:4010'],
  ];

  it('parses the trust settings: private providers, rate limit, proxy, former keys', () => {
    const defaults = loadConfig({});
    expect(defaults.PROVIDER_ALLOW_PRIVATE).toBe(false);
    expect(defaults.API_RATE_LIMIT).toBeNull();
    expect(defaults.TRUST_PROXY).toBe(false);
    expect(defaults.ENCRYPTION_KEYS_OLD).toEqual([]);
    const config = loadConfig({
      PROVIDER_ALLOW_PRIVATE: 'true',
      OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1',
      API_RATE_LIMIT: '3000/m',
      TRUST_PROXY: 'true',
      ENCRYPTION_KEYS_OLD: `${'a'.repeat(64)}, ${Buffer.alloc(32, 7).toString('base64')}`,
    });
    expect(config.OPENAI_BASE_URL).toBe('http://127.0.0.1:4010/v1');
    expect(config.API_RATE_LIMIT).toEqual({ points: 3000, durationSeconds: 60 });
    expect(loadConfig({ API_RATE_LIMIT: '50/s' }).API_RATE_LIMIT).toEqual({ points: 50, durationSeconds: 1 });
    expect(config.TRUST_PROXY).toBe(true);
    expect(config.ENCRYPTION_KEYS_OLD.map((key) => key.length)).toEqual([32, 32]);
    expect(loadConfig({ OPENAI_BASE_URL: 'https://api.openai.com/v1' }).OPENAI_BASE_URL).toBe('https://api.openai.com/v1');
  });

  it.each(malformed)('%s=%s fails with one line naming the variable', (name, value) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message.startsWith(`${name}: expected `)).toBe(true);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(value === 'plain-secret' ? value : '\u0000');
  });

  it('a bad variable stops a process with one line and no stack trace', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '-e', "import('./src/config.ts').then((m) => m.configOrExit('conveyor-api'))"],
      { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, PORT: 'eighty' }, encoding: 'utf8' },
    );
    expect(result.status).toBe(78);
    expect(result.stderr.trim()).toBe('conveyor-api: invalid configuration: PORT: expected a port number (1-65535)');
  });
});

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { assertSafeForEnvironment, ConfigError, configVariableNames, loadConfig, UnsafeConfigError } from './config.ts';

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

  describe('outside development', () => {
    const safe = {
      API_TOKENS: 'a-real-token-0123456789',
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'a long real password',
      WEBHOOK_SECRET: `whsec_${Buffer.from('a-webhook-secret-of-32-bytes!!!!').toString('base64')}`,
    };
    const check = (env: Record<string, string>, nodeEnv = 'production') => () => assertSafeForEnvironment(loadConfig(env), { NODE_ENV: nodeEnv });

    it('accepts a production configuration with real secrets', () => {
      expect(check(safe)).not.toThrow();
    });

    it.each([
      ['no API token', { API_TOKENS: '' }, 'API_TOKENS is empty'],
      ['the compose placeholder token', { API_TOKENS: 'dev-token-change-me' }, 'API_TOKENS holds a placeholder'],
      ['the compose placeholder password', { ADMIN_PASSWORD: 'change-me' }, 'ADMIN_PASSWORD is a placeholder'],
      ['a short password', { ADMIN_PASSWORD: 'secret' }, 'shorter than 12'],
      ['no webhook secret', { WEBHOOK_SECRET: '' }, 'WEBHOOK_SECRET is not set'],
      ['webhooks to private addresses', { WEBHOOK_ALLOW_PRIVATE: 'true' }, 'WEBHOOK_ALLOW_PRIVATE=true'],
    ])('refuses %s in production, with one line saying why', (_, change, reason) => {
      expect(check({ ...safe, ...change })).toThrow(UnsafeConfigError);
      expect(check({ ...safe, ...change })).toThrow(reason);
      expect(check({ ...safe, ...change }, 'development')).not.toThrow();
    });

    it('stops a production process with that one line', async () => {
      const { spawnSync } = await import('node:child_process');
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', '-e', "import('./src/config.ts').then((m) => m.configOrExit('conveyor-api'))"],
        { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, ...safe, NODE_ENV: 'production', WEBHOOK_SECRET: '' }, encoding: 'utf8' },
      );
      expect(result.status).toBe(78);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^conveyor-api: refusing to start with NODE_ENV=production: WEBHOOK_SECRET is not set/);
    });
  });

  it('documents every variable in the README table and in .env.example, whose values load', () => {
    const root = new URL('../../../', import.meta.url);
    const readme = readFileSync(new URL('README.md', root), 'utf8');
    const example = readFileSync(new URL('.env.example', root), 'utf8');
    const exampleEnv = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    for (const name of configVariableNames) {
      expect(readme, `README table: ${name}`).toMatch(new RegExp('^\\|[^\\n]*`' + name + '`', 'm'));
      expect(exampleEnv, `.env.example: ${name}`).toHaveProperty(name);
    }
    expect(() => loadConfig(exampleEnv)).not.toThrow();
  });
});

import { z } from 'zod';
import { assertProviderBaseUrlSyntax } from './providers/base-url-guard.ts';

/** Thrown when the environment does not describe a valid configuration. Its message is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`${variable}: ${expected}`);
  }
}

const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  });

const positiveInt = z
  .string()
  .regex(/^\d+$/)
  .transform(Number)
  .refine((n) => n > 0 && Number.isSafeInteger(n));

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

const encryptionKey = z.string().transform((value, ctx) => {
  const trimmed = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'bad key' });
    return z.NEVER;
  }
  return key;
});

const encryptionKeys = z.string().transform((value, ctx) => {
  const keys = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const parsed = encryptionKey.safeParse(part);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: 'bad key' });
      return z.NEVER;
    }
    keys.push(parsed.data);
  }
  return keys;
});

/** `50/s`, `3000/m`, `100000/h`: at most that many requests per token in each window. */
const rateLimit = z.string().transform((value, ctx) => {
  if (value === '') return null;
  const match = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)$/i.exec(value);
  const points = Number(match?.[1]);
  if (!match || !Number.isSafeInteger(points) || points < 1) {
    ctx.addIssue({ code: 'custom', message: 'bad rate' });
    return z.NEVER;
  }
  const unit = match[2]!.toLowerCase()[0]!;
  return { points, durationSeconds: unit === 's' ? 1 : unit === 'm' ? 60 : 3600 };
});

const providerConcurrency = z.string().transform((value, ctx) => {
  const limits: Record<string, number> = {};
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z0-9_-]+)\s*=\s*(\d+)$/i.exec(part);
    if (!match || Number(match[2]) < 1) {
      ctx.addIssue({ code: 'custom', message: 'bad entry' });
      return z.NEVER;
    }
    limits[match[1]!.toLowerCase()] = Number(match[2]);
  }
  return limits;
});

/** `host:port` pairs (or redis:// URLs) of Redis Cluster nodes; a few are enough, the rest are discovered. */
const clusterNodes = z.string().transform((value, ctx) => {
  const nodes: { host: string; port: number }[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^(?:rediss?:\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(part);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: 'bad node' });
      return z.NEVER;
    }
    nodes.push({ host: match[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return nodes;
});

const retrySchedule = z.string().transform((value, ctx) => {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    ctx.addIssue({ code: 'custom', message: 'bad schedule' });
    return z.NEVER;
  }
  return parts.map(Number);
});

const tokens = z.string().transform((value, ctx) => {
  const list = value.split(',').map((t) => t.trim()).filter(Boolean);
  if (list.some((t) => t.length < 8)) {
    ctx.addIssue({ code: 'custom', message: 'short token' });
    return z.NEVER;
  }
  return list;
});

/** Each variable: its schema, what is expected (for the one-line error), and its default. */
const variables = {
  DATABASE_URL: [url(['postgres:', 'postgresql:']), 'a postgresql:// URL', 'postgresql://postgres:postgres@127.0.0.1:5432/conveyor'],
  DATABASE_POOL_SIZE: [positiveInt, 'a positive integer (connections per process)', '10'],
  DATABASE_TRANSACTION_POOLER: [bool, 'true or false', 'false'],
  REDIS_URL: [url(['redis:', 'rediss:']), 'a redis:// or rediss:// URL', 'redis://127.0.0.1:6379'],
  REDIS_CLUSTER_NODES: [clusterNodes, 'comma-separated host:port pairs of Redis Cluster nodes, e.g. redis-1:6379,redis-2:6379', ''],
  REDIS_PREFIX: [z.string().regex(/^[A-Za-z0-9:_{}-]+$/), 'letters, digits and : _ - { } only', 'conveyor'],
  API_TOKENS: [tokens, 'comma-separated bearer tokens of at least 8 characters each', ''],
  ADMIN_USER: [z.string(), 'a user name', ''],
  ADMIN_PASSWORD: [z.string(), 'a password', ''],
  ENCRYPTION_KEY: [encryptionKey.optional(), '32 bytes, as 64 hex digits or base64', undefined],
  ENCRYPTION_KEYS_OLD: [encryptionKeys, 'comma-separated former keys, each 32 bytes as 64 hex digits or base64', ''],
  WEBHOOK_SECRET: [z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/).optional(), 'a Standard Webhooks secret: whsec_ followed by base64', undefined],
  ANTHROPIC_API_KEY: [z.string().optional(), 'an API key', undefined],
  OPENAI_API_KEY: [z.string().optional(), 'an API key', undefined],
  ANTHROPIC_BASE_URL: [url(['http:', 'https:']).optional(), 'an http(s) URL such as http://host:port', undefined],
  OPENAI_BASE_URL: [url(['http:', 'https:']).optional(), 'an http(s) URL such as http://host:port/v1', undefined],
  PORT: [positiveInt.refine((n) => n < 65536), 'a port number (1-65535)', '3000'],
  HOST: [z.string().min(1), 'a host name or address to listen on', '0.0.0.0'],
  WORKER_CONCURRENCY: [positiveInt, 'a positive integer', '10'],
  WORKER_SHUTDOWN_GRACE_SECONDS: [positiveInt, 'a positive integer (seconds)', '30'],
  WORKER_METRICS_PORT: [z.string().regex(/^\d+$/).transform(Number), 'a port number, or 0 for none', '0'],
  PROVIDER_CONCURRENCY: [providerConcurrency, 'provider=limit pairs, e.g. anthropic=20,openai=50', ''],
  PROVIDER_TIMEOUT_SECONDS: [positiveInt, 'a positive integer (seconds)', '600'],
  PROVIDER_MAX_RETRIES: [z.string().regex(/^\d+$/).transform(Number), 'a non-negative integer', '4'],
  RUN_MAX_DURATION_SECONDS: [positiveInt, 'a positive integer (seconds)', '3600'],
  RUN_EVENTS_RETENTION_SECONDS: [positiveInt, 'a positive integer (seconds)', '10'],
  RECONCILE_INTERVAL_SECONDS: [z.string().regex(/^\d+$/).transform(Number), 'a non-negative integer (seconds; 0 turns the reconciler off)', '30'],
  WEBHOOK_RETRY_SCHEDULE: [retrySchedule, 'comma-separated delays in seconds, e.g. 5,300,1800', '5,300,1800,7200,18000,36000'],
  WEBHOOK_TIMEOUT_SECONDS: [positiveInt, 'a positive integer (seconds)', '10'],
  WEBHOOK_ALLOW_PRIVATE: [bool, 'true or false', 'false'],
  PROVIDER_ALLOW_PRIVATE: [bool, 'true or false', 'false'],
  API_RATE_LIMIT: [rateLimit, 'requests per window per token, e.g. 50/s, 3000/m or 100000/h', ''],
  TRUST_PROXY: [bool, 'true or false', 'false'],
  BODY_LIMIT_BYTES: [positiveInt, 'a positive integer (bytes)', '1048576'],
  OTEL_EXPORTER_OTLP_ENDPOINT: [url(['http:', 'https:']).optional(), 'an http(s) URL of an OTLP receiver, e.g. http://collector:4318', undefined],
  OTEL_EXPORTER_OTLP_PROTOCOL: [z.enum(['http/protobuf', 'http/json']), 'http/protobuf or http/json (grpc is not supported)', 'http/protobuf'],
  LOG_LEVEL: [z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'one of fatal, error, warn, info, debug, trace, silent', 'info'],
  LOG_FORMAT: [z.enum(['json', 'pretty', 'auto']), 'json, pretty or auto', 'auto'],
} as const;

type Variables = typeof variables;

/** Every variable the configuration reads (documented in the README and .env.example). */
export const configVariableNames = Object.keys(variables) as (keyof Variables)[];
export type Config = { [K in keyof Variables]: z.output<Variables[K][0]> };

/**
 * Reads and validates the configuration. Empty strings count as unset.
 * Throws a ConfigError naming the first bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [name, [schema, expected, fallback]] of Object.entries(variables)) {
    const raw = env[name]?.trim();
    const value = raw === undefined || raw === '' ? fallback : raw;
    const parsed = (schema as z.ZodType).safeParse(value);
    if (!parsed.success) throw new ConfigError(name, `expected ${expected}`);
    config[name] = parsed.data;
  }
  checkProviderBaseUrls(config as Config);
  return Object.freeze(config) as Config;
}

/** Provider endpoints on loopback, private or metadata addresses need PROVIDER_ALLOW_PRIVATE=true. */
function checkProviderBaseUrls(config: Config): void {
  for (const name of ['ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL'] as const) {
    const value = config[name];
    if (value === undefined || config.PROVIDER_ALLOW_PRIVATE) continue;
    try {
      assertProviderBaseUrlSyntax(value, { allowPrivate: false }, name);
    } catch {
      throw new ConfigError(name, 'expected a public address (it is loopback, private, link-local or metadata); set PROVIDER_ALLOW_PRIVATE=true for a local model server');
    }
  }
}

let cached: Config | undefined;

/** The process-wide configuration, loaded once. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}

/** For tests: forget the cached configuration so the next call re-reads the environment. */
export function resetConfig(): void {
  cached = undefined;
}

/** Thrown when a configuration that is fine on a laptop would be unsafe in production. Its message is one line. */
export class UnsafeConfigError extends Error {
  override name = 'UnsafeConfigError';
}

/** The placeholders of docker-compose.yml and .env.example: never a real secret. */
const placeholder = /change-?me/i;

/**
 * Development defaults that must not reach production: with NODE_ENV=production, refuses an
 * open or placeholder API, a placeholder console password, unsigned webhooks, and webhooks to
 * private addresses. Anywhere else (development, tests, unset) it accepts them.
 */
export function assertSafeForEnvironment(config: Config, env: Record<string, string | undefined> = process.env): void {
  if (env.NODE_ENV?.trim() !== 'production') return;
  const refuse = (reason: string) => {
    throw new UnsafeConfigError(`refusing to start with NODE_ENV=production: ${reason} (NODE_ENV=development allows it for a local try)`);
  };
  if (config.API_TOKENS.length === 0) refuse('API_TOKENS is empty, so the API would refuse every request; set at least one token');
  if (config.API_TOKENS.some((token) => placeholder.test(token))) refuse('API_TOKENS holds a placeholder token; generate one, e.g. openssl rand -hex 24');
  if (config.ADMIN_PASSWORD && (placeholder.test(config.ADMIN_PASSWORD) || config.ADMIN_PASSWORD.length < 12)) {
    refuse('ADMIN_PASSWORD is a placeholder or shorter than 12 characters');
  }
  if (!config.WEBHOOK_SECRET) refuse('WEBHOOK_SECRET is not set, so webhooks would go out unsigned; generate one with echo "whsec_$(openssl rand -base64 32)"');
  if (config.WEBHOOK_ALLOW_PRIVATE) refuse('WEBHOOK_ALLOW_PRIVATE=true lets webhooks reach internal addresses');
}

/**
 * Loads the configuration at process start. On error, prints one line naming the
 * variable and exits with status 78 (EX_CONFIG) — never a stack trace.
 */
export function configOrExit(processName: string): Config {
  try {
    const loaded = config();
    assertSafeForEnvironment(loaded);
    return loaded;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${processName}: invalid configuration: ${error.message}\n`);
      process.exit(78);
    }
    if (error instanceof UnsafeConfigError) {
      process.stderr.write(`${processName}: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

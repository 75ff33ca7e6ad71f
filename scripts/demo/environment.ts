
/** Fixed, not-secret development credentials: the demo's processes listen on 127.0.0.1 only. */
export const demoCredentials = {
  apiToken: 'demo-token-not-secret',
  adminUser: 'admin',
  adminPassword: 'demo',
  encryptionKey: Buffer.from('conveyor-demo-encryption-key-32b').toString('hex'),
  webhookSecret: `whsec_${Buffer.from('conveyor-demo-webhook-secret-32b').toString('base64')}`,
};

export type ProviderName = 'anthropic' | 'openai';

export interface ProviderPlan {
  provider: ProviderName;
  /** A real key is set: the demo calls the real service. */
  real: boolean;
}

const keyVariable = { anthropic: 'ANTHROPIC_API_KEY', openai: 'OPENAI_API_KEY' } as const;
const baseUrlVariable = { anthropic: 'ANTHROPIC_BASE_URL', openai: 'OPENAI_BASE_URL' } as const;

/** Each provider with a key in the environment is real; the others are emulated. */
export function providerPlans(env: NodeJS.ProcessEnv): ProviderPlan[] {
  return (['anthropic', 'openai'] as const).map((provider) => ({ provider, real: Boolean(env[keyVariable[provider]]?.trim()) }));
}

export interface DemoEnvironment {
  env: NodeJS.ProcessEnv;
  apiUrl: string;
}

/**
 * The demo's own database and queues on the configured Postgres and Redis servers, so
 * that it and another Conveyor there (a Docker Compose stack, say) never take each
 * other's runs: workers re-enqueue every unfinished run of their database.
 */
export function demoStorage(base: NodeJS.ProcessEnv): { DATABASE_URL: string; REDIS_URL: string; REDIS_PREFIX: string } {
  let databaseUrl = base.DEMO_DATABASE_URL;
  if (!databaseUrl) {
    const url = new URL(base.DATABASE_URL || 'postgresql://postgres:postgres@127.0.0.1:5432/conveyor');
    url.pathname = '/conveyor_demo';
    databaseUrl = url.toString();
  }
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: base.REDIS_URL || 'redis://127.0.0.1:6379',
    REDIS_PREFIX: base.DEMO_REDIS_PREFIX || 'conveyor-demo',
  };
}

/** The environment of the API and worker processes. */
export function demoEnvironment(
  base: NodeJS.ProcessEnv,
  options: { port: number; emulator?: { anthropicBaseUrl: string; openaiBaseUrl: string }; plans: ProviderPlan[] },
): DemoEnvironment {
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...demoStorage(base),
    API_TOKENS: demoCredentials.apiToken,
    ADMIN_USER: demoCredentials.adminUser,
    ADMIN_PASSWORD: demoCredentials.adminPassword,
    ENCRYPTION_KEY: demoCredentials.encryptionKey,
    WEBHOOK_SECRET: demoCredentials.webhookSecret,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    HOST: '127.0.0.1',
    PORT: String(options.port),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  };
  for (const plan of options.plans) {
    if (plan.real || !options.emulator) continue;
    env[keyVariable[plan.provider]] = 'emulated-key';
    env[baseUrlVariable[plan.provider]] = plan.provider === 'anthropic' ? options.emulator.anthropicBaseUrl : options.emulator.openaiBaseUrl;
    env.PROVIDER_ALLOW_PRIVATE = 'true'; // the emulator listens on loopback
  }
  return { env, apiUrl: `http://127.0.0.1:${options.port}` };
}

/** `preferred` when it is free on 127.0.0.1, else any free port. */

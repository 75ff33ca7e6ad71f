import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Tests never touch a developer's data: their own database (copied per test file) and Redis db. */
export const testDatabaseUrl =
  process.env.TEST_DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/conveyor_test';
export const testRedisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/9';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    globalSetup: [fileURLToPath(new URL('./scripts/test-global-setup.ts', import.meta.url))],
    setupFiles: [fileURLToPath(new URL('./scripts/test-database.ts', import.meta.url))],
    env: {
      DATABASE_URL: testDatabaseUrl,
      REDIS_URL: testRedisUrl,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
    },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    passWithNoTests: true,
    reporters: ['default', ['json', { outputFile: fileURLToPath(new URL(`./test-output/vitest/${basename(process.cwd())}.json`, import.meta.url)) }]],
  },
});

import { randomBytes } from 'node:crypto';
import { type Config, loadConfig } from '../config.ts';

/** A Redis key prefix of its own for one test file, so test files never share queues or events. */
export function testPrefix(label = 't'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

/** The test configuration (test database and Redis db) with overrides. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ ...process.env, REDIS_PREFIX: testPrefix(), ...overrides });
}
export { startTestMcpServer, type TestMcpServer } from '../tools/testing.ts';

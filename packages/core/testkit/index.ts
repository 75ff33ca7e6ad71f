import { randomBytes } from 'node:crypto';
import { type Config, loadConfig } from '../src/config.ts';

/** A Redis key prefix of its own for one test file, so test files never share queues or events. */
export function testPrefix(label = 't'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

/** The test configuration (test database and Redis db) with overrides. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ PROVIDER_ALLOW_PRIVATE: 'true', ...process.env, REDIS_PREFIX: testPrefix(), ...overrides });
}

export type { TestMcpServer } from './mcp-server.ts';

/** An MCP server on 127.0.0.1 built with the official SDK (loaded only by the tests that start one). */
export async function startTestMcpServer(): Promise<import('./mcp-server.ts').TestMcpServer> {
  const { startTestMcpServer: start } = await import('./mcp-server.ts');
  return start();
}

export * from './webhook-receiver.ts';
export * from './tool-server.ts';
export * from './redis-cluster.ts';
export * from './pgbouncer.ts';
export * from './otlp-receiver.ts';
export * from './execution-deps.ts';
export * from './run-engine.ts';

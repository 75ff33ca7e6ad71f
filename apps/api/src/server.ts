import { serve } from '@hono/node-server';
import { configOrExit, createLogger, exitOnListenFailure, startTracing, stopTracing } from '@conveyor/core';
import { createApp } from './app.ts';
import { createApiDeps } from './deps.ts';
import { closeEventHub } from './routes/events.ts';

/** In-flight requests get this long to finish after SIGTERM; then the remaining connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

const config = configOrExit('conveyor-api');
const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'api' });
await startTracing('conveyor-api', { logger });
if (config.API_TOKENS.length === 0) logger.warn('API_TOKENS is empty: every /v1 request will be refused with 401');

// Requests fail (503 on /readyz, 500 elsewhere) rather than wait forever while Redis is down.
const deps = createApiDeps(config, logger, { redis: { maxRetriesPerRequest: 2 } });
deps.redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));

const app = createApp(deps);
const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  logger.info({ port: info.port }, `listening on http://${host}:${info.port}`);
});
server.once('error', (error) => exitOnListenFailure(error, { name: 'conveyor-api', setting: 'PORT', port: config.PORT, host: config.HOST }));

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
  const force = setTimeout(() => {
    logger.warn('grace period over: closing the remaining connections');
    if ('closeAllConnections' in server) server.closeAllConnections();
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  // Keep-alive connections go as soon as their request in flight is answered.
  const idle = setInterval(() => {
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  }, 100);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  clearTimeout(force);
  clearInterval(idle);
  await closeEventHub(deps);
  await deps.close();
  await stopTracing();
  logger.info('stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

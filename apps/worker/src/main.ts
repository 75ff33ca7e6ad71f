import { configOrExit } from '@conveyor/core';
import { createLogger } from '@conveyor/core';
import { exposition } from '@conveyor/core';
import { startMetricsServer } from './metrics-server.ts';
import { startWorkerProcess } from './worker-process.ts';
import { startTracing, stopTracing, warnIfNoProviderConfigured } from '@conveyor/core';

const config = configOrExit('conveyor-worker');
const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, name: 'conveyor-worker' });

await startTracing('conveyor-worker', { logger });
await warnIfNoProviderConfigured(config, logger);
const worker = await startWorkerProcess(config, logger);
if (config.WORKER_METRICS_PORT > 0) await startMetricsServer(exposition(), config.WORKER_METRICS_PORT, config.HOST);
logger.info({ concurrency: config.WORKER_CONCURRENCY, pid: process.pid }, 'worker started');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS }, 'draining: no new runs are taken');
  try {
    await worker.close();
    logger.info('worker stopped');
    await stopTracing();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'unclean shutdown');
    process.exit(1);
  }
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

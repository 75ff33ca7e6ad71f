import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exitOnListenFailure } from '@conveyor/core';
import type { Exposition } from '@conveyor/core';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `GET /metrics` for a worker process (WORKER_METRICS_PORT); anything else is a 404. */
export async function startMetricsServer(scrape: Exposition, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    scrape.render().then(
      (text) => res.writeHead(200, { 'Content-Type': scrape.contentType }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain' }).end('metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      if (port === 0) return reject(error);
      exitOnListenFailure(error, { name: 'conveyor-worker metrics', setting: 'WORKER_METRICS_PORT', port, host });
    });
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

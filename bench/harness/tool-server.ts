import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Scope } from './scope.ts';

/** An HTTP function tool that answers at once, on 127.0.0.1. */
export interface InstantToolServer {
  url: string;
  /** Requests answered so far. */
  calls(): number;
}

/** Reads each request to its end and answers a small JSON result; stopped when the scope closes. */
export async function startInstantToolServer(scope: Scope): Promise<InstantToolServer> {
  let calls = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    request.resume();
    request.on('end', () => {
      calls++;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"found":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  scope.defer('close instant tool server', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/lookup`, calls: () => calls };
}

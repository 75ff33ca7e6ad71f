import { createServer } from 'node:net';

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/** A TCP port on 127.0.0.1 that is free now: `preferred` if it is, else one the system picks. */
export async function freePort(preferred = 0): Promise<number> {
  const port = (preferred > 0 ? await listenOnce(preferred) : undefined) ?? (await listenOnce(0));
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

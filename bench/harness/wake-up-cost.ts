import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { sleep } from './processes.ts';

const MESSAGES = 200;
const GAP_MS = 5;

interface ReaderUsage {
  reads: number;
  cpuMicros: number;
}

/**
 * The CPU time a process spends waking up for one small message that reaches it while it sleeps
 * (a loopback TCP socket, a message every 5 ms: a reader with nothing else to do). Every hop of a
 * live event (emulator, worker, Redis, API, client) pays it when the load is light, so it is
 * reported with the machine: figures from machines that wake at different costs differ for it.
 */
export async function wakeUpCostMicros(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const reader = fork(new URL('./wake-up-reader.ts', import.meta.url), [String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const [socket] = (await once(server, 'connection')) as [Socket];
    socket.setNoDelay(true);
    const usage = async (): Promise<ReaderUsage> => {
      const answer = once(reader, 'message');
      reader.send('usage');
      return (await answer)[0] as ReaderUsage;
    };
    await sleep(100);
    const before = await usage();
    for (let i = 0; i < MESSAGES; i++) {
      socket.write('x');
      await sleep(GAP_MS);
    }
    await sleep(50);
    const after = await usage();
    socket.destroy();
    return Math.round((after.cpuMicros - before.cpuMicros) / Math.max(1, after.reads - before.reads));
  } finally {
    reader.kill();
    server.close();
  }
}

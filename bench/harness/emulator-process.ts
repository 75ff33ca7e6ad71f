/**
 * The LLM emulator as a child process of the benchmark, on PORT. Prints `ready <url>`.
 * With STAMP_TOKENS=1 it also prints `stamp <token> <wall-clock ms>` the moment it
 * writes a streamed chunk containing a benchmark token (`q<run>w<word>`), so the
 * sse benchmark can measure the delay from provider to client.
 */
import { ServerResponse } from 'node:http';
import { startEmulator } from '@conveyor/llm-emulator';
import { wallClockMs } from './stats.ts';

const benchToken = /\bq\d+w\d+\b/g;

if (process.env.STAMP_TOKENS === '1') {
  const write = ServerResponse.prototype.write;
  ServerResponse.prototype.write = function stampedWrite(this: ServerResponse, chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string' && chunk.includes('text')) {
      const at = wallClockMs();
      for (const [token] of chunk.matchAll(benchToken)) process.stdout.write(`stamp ${token} ${at}\n`);
    }
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof write;
}

const emulator = await startEmulator({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', latencyMs: 0, tokensPerSecond: 0 });
process.stdout.write(`ready ${emulator.url}\n`);

process.once('SIGTERM', () => {
  void emulator.close().then(() => process.exit(0));
});

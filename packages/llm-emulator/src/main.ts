import { startEmulator } from './server.ts';

/**
 * `EMULATOR_PORT=4010 LATENCY_MS=200 TOKENS_PER_SECOND=50 tsx src/main.ts` — prints its URL and serves until
 * stopped. EMULATOR_PORT (else PORT, else 4010), so it can share a shell with the API's PORT.
 */
const numberFrom = (name: string, fallback: number) => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`llm-emulator: ${name} must be a non-negative number\n`);
    process.exit(78);
  }
  return value;
};

const port = process.env.EMULATOR_PORT ? numberFrom('EMULATOR_PORT', 4010) : numberFrom('PORT', 4010);
const host = process.env.HOST || '127.0.0.1';
const emulator = await startEmulator({
  port,
  host,
  latencyMs: numberFrom('LATENCY_MS', 0),
  tokensPerSecond: numberFrom('TOKENS_PER_SECOND', 0),
}).catch((error: NodeJS.ErrnoException) => {
  // A busy port is one line, not a stack trace.
  if (error.code !== 'EADDRINUSE') throw error;
  process.stderr.write(`llm-emulator: port ${host}:${port} is already in use (EADDRINUSE): stop the other process or set EMULATOR_PORT\n`);
  process.exit(1);
});
process.stdout.write(`llm-emulator listening on ${emulator.url} (ANTHROPIC_BASE_URL=${emulator.anthropicBaseUrl} OPENAI_BASE_URL=${emulator.openaiBaseUrl})\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}

import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from './logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('logger', () => {
  it('redacts authorization headers and anything named like a key or secret', () => {
    const { lines, logger } = capture();
    logger.info(
      {
        req: { headers: { authorization: 'Bearer tok-SECRET-1' } },
        provider: { apiKey: 'sk-SECRET-2', name: 'openai' },
        apiKey: 'sk-SECRET-3',
        webhook: { secret: 'whsec_SECRET-4' },
      },
      'hello',
    );
    const line = lines.join('');
    expect(line).toContain('hello');
    expect(line).toContain('openai');
    expect(line).not.toMatch(/SECRET/);
    expect(JSON.parse(line).apiKey).toBe('[redacted]');
  });

  it('redacts the bindings of child loggers, and of their children', () => {
    const { lines, logger } = capture();
    logger.child({ runId: 'run_1', token: 'tok-SECRET-1' }).child({ provider: { apiKey: 'sk-SECRET-2' } }).info('hello');
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ runId: 'run_1', token: '[redacted]', provider: { apiKey: '[redacted]' } });
    expect(lines[0]).not.toMatch(/SECRET/);
  });

  it("redacts an error's secret fields and keeps its type, message and stack", () => {
    const { lines, logger } = capture();
    class ProviderTrouble extends Error {
      apiKey = 'sk-SECRET-1';
    }
    const err = new ProviderTrouble('upstream said no');
    logger.warn({ err }, 'call failed');
    const line = JSON.parse(lines[0]!);
    expect(line.err).toMatchObject({ type: 'ProviderTrouble', message: 'upstream said no', apiKey: '[redacted]' });
    expect(line.err.stack).toContain('upstream said no');
    expect(err.apiKey).toBe('sk-SECRET-1');
  });

  it('never changes the object it is given, and returns one without secrets as it is', () => {
    const fields = { provider: { apiKey: 'sk-1', name: 'openai' }, req: { headers: { Authorization: 'Bearer t', accept: '*/*' } } };
    const redacted = redactSecrets(fields);
    expect(redacted).toEqual({ provider: { apiKey: '[redacted]', name: 'openai' }, req: { headers: { Authorization: '[redacted]', accept: '*/*' } } });
    expect(fields.provider.apiKey).toBe('sk-1');
    expect(fields.req.headers.Authorization).toBe('Bearer t');
    const clean = { runId: 'run_1', usage: { inputTokens: 3 } };
    expect(redactSecrets(clean)).toBe(clean);
  });

  it("hides at least what pino's path redaction hid, on thousands of generated lines", () => {
    // The path list the logger used before (pino's `redact` option): the oracle.
    const paths = ['authorization', 'headers.authorization', 'req.headers.authorization', 'req.headers.cookie', '*.authorization', '*.apiKey', '*.api_key', '*.key', '*.secret', '*.password', '*.token', 'apiKey', 'api_key', 'key', 'secret', 'password', 'token', '*.headers["x-api-key"]', '*.headers.authorization'];
    const oracleLines: string[] = [];
    const oracle = pino({ redact: { paths, censor: '[redacted]' } }, new Writable({ write: (chunk, _e, done) => (oracleLines.push(chunk.toString()), done()) }));
    const { lines, logger } = capture();
    const names = ['authorization', 'apiKey', 'api_key', 'key', 'secret', 'password', 'token', 'headers', 'x-api-key', 'cookie', 'req', 'provider', 'name', 'output', 'err'];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let marker = 0;
    const generate = (depth: number): Record<string, unknown> => {
      const value: Record<string, unknown> = {};
      for (let i = 0, n = 1 + Math.floor(random() * 4); i < n; i++) {
        value[names[Math.floor(random() * names.length)]!] = depth < 3 && random() < 0.5 ? generate(depth + 1) : `M${marker++}Z`;
      }
      return value;
    };
    for (let i = 0; i < 3000; i++) {
      const fields = generate(1);
      oracle.info(fields, 'line');
      logger.info(fields, 'line');
    }
    for (let i = 0; i < oracleLines.length; i++) {
      const shown = new Set(lines[i]!.match(/M\d+Z/g) ?? []);
      const oracleShown = new Set(oracleLines[i]!.match(/M\d+Z/g) ?? []);
      for (const seen of shown) expect(oracleShown.has(seen), `${lines[i]} against ${oracleLines[i]}`).toBe(true);
    }
    expect(marker).toBeGreaterThan(10_000);
  });

  it('writes JSON lines at the configured level', () => {
    const { lines, logger } = capture();
    logger.debug('hidden');
    logger.warn({ runId: 'run_1' }, 'shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, runId: 'run_1', msg: 'shown' });
  });
});

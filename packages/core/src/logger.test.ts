import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

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

  it('writes JSON lines at the configured level', () => {
    const { lines, logger } = capture();
    logger.debug('hidden');
    logger.warn({ runId: 'run_1' }, 'shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, runId: 'run_1', msg: 'shown' });
  });
});

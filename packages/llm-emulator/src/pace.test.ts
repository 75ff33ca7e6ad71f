import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkSchedule } from './pace.ts';
import { type Emulator, startEmulator } from './server.ts';

describe('ChunkSchedule', () => {
  it('puts each chunk at its own time from the start, so a late wake-up does not push the rest back', () => {
    let now = 1000;
    const schedule = new ChunkSchedule(40, () => now);
    expect(schedule.take()).toBe(0); // chunk 0, due at once
    now = 1010;
    expect(schedule.take()).toBe(15); // chunk 1, due at 1025
    now = 1080; // the timer fired 55 ms late
    expect(schedule.take()).toBe(0); // chunk 2 (due 1050)
    expect(schedule.take()).toBe(0); // chunk 3 (due 1075)
    expect(schedule.take()).toBe(20); // chunk 4, still due at 1100
  });

  it('makes every chunk due at once when no pace is set', () => {
    let now = 0;
    const schedule = new ChunkSchedule(0, () => now);
    for (let chunk = 0; chunk < 5; chunk++, now += 7) expect(schedule.take()).toBe(0);
  });
});

describe('a paced stream', () => {
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(async () => {
    await emulator.close();
  });

  it('sends the chunks that fell due while it was busy together, in one socket write', async () => {
    emulator.script({ reply: Array.from({ length: 30 }, (_, i) => `w${i}`).join(' '), tokensPerSecond: 100 });
    // Read off the socket itself: an HTTP client hands over one HTTP chunk at a time, however they arrived.
    const body = JSON.stringify({ model: 'claude-x', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const { port } = new URL(emulator.url);
    const reads: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: k\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      });
      socket.setEncoding('utf8');
      socket.on('data', (read: string) => {
        reads.push(read);
        // After the first word, the process (the emulator's too) is busy for 150 ms: about 15 words fall due meanwhile.
        if (read.includes('w0')) {
          const until = performance.now() + 150;
          while (performance.now() < until);
        }
      });
      socket.on('end', resolve);
      socket.on('error', reject);
    });
    const deltasPerRead = reads.map((read) => read.match(/"text_delta"/g)?.length ?? 0);
    expect(deltasPerRead.reduce((sum, n) => sum + n, 0)).toBe(30);
    expect(Math.max(...deltasPerRead)).toBeGreaterThanOrEqual(5);
  });
});

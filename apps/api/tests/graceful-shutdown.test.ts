import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { testPrefix } from '@conveyor/core/testing';
import { freePort } from '@conveyor/core';

const token = 'shutdown-test-token-123';
const serverPath = fileURLToPath(new URL('../src/server.ts', import.meta.url));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
});


async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the API did not start');
}

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting connections, finishes the request in flight, closes Redis and Postgres and exits 0', { timeout: 90_000 }, async () => {
    const port = await freePort();
    let output = '';
    child = spawn(process.execPath, ['--import', 'tsx', serverPath], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', API_TOKENS: token, REDIS_PREFIX: testPrefix('shutdown'), LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    await waitForHealth(port).catch((error) => {
      throw new Error(`${error}\n${output}`);
    });

    // A request whose body is still arriving when the signal comes.
    const body = JSON.stringify({ name: 'in flight', model: 'gpt-4o' });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/v1/agents',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child!.kill('SIGTERM');
        setTimeout(async () => {
          expect(await refusesConnections(port)).toBe(true);
          req.end(body.slice(10));
        }, 500);
      }, 300);
    });

    const answered = await response.catch((error) => {
      throw new Error(`${error}\n${output}`);
    });
    expect(answered.status).toBe(201);
    expect(JSON.parse(answered.body)).toMatchObject({ name: 'in flight' });
    expect(await exited).toBe(0);
    expect(output).toContain('shutting down');
    expect(output).toContain('"msg":"stopped"');
  });
});

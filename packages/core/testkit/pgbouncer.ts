import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/net/free-port.ts';

export interface TestPgbouncer {
  port: number;
  /** `databaseUrl` (a database of the Postgres it fronts) as reached through PgBouncer. */
  urlFor(databaseUrl: string): string;
  /** What PgBouncer logged (its errors say why a client was refused). */
  output(): string;
  close(): Promise<void>;
}

const binary = '/usr/sbin/pgbouncer';

/** Whether Debian's PgBouncer (package pgbouncer) is installed. */
export function hasPgbouncer(): boolean {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * PgBouncer in transaction pooling on a free port of 127.0.0.1, in front of the Postgres of
 * `databaseUrl` (any database name passes through, logging in as that URL's user), with at
 * most `serverConnections` server connections per database, so clients share them.
 */
export async function startPgbouncer(databaseUrl: string, options: { serverConnections?: number } = {}): Promise<TestPgbouncer> {
  const upstream = new URL(databaseUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-pgbouncer-'));
  chmodSync(dir, 0o755);
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const user = decodeURIComponent(upstream.username || 'postgres');
  const password = decodeURIComponent(upstream.password);
  const server = [`host=${upstream.hostname.replace(/^\[|\]$/g, '')}`, `port=${upstream.port || '5432'}`, `user=${quote(user)}`, ...(password ? [`password=${quote(password)}`] : [])];
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = ${server.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      'auth_type = any',
      'pool_mode = transaction',
      `default_pool_size = ${options.serverConnections ?? 4}`,
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  chmodSync(ini, 0o644);
  // PgBouncer refuses to run as root: as root it runs as the postgres user.
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', ini] : [ini];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`PgBouncer did not start listening on 127.0.0.1:${port}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    urlFor: (url) => {
      const through = new URL(url);
      through.hostname = '127.0.0.1';
      through.port = String(port);
      return through.toString();
    },
    output: () => output,
    close,
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

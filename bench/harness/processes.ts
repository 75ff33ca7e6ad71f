import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { repoRoot } from './environment.ts';
import type { Scope } from './scope.ts';

/** Thrown when a child process exits before it is ready, or never becomes ready. */
export class ProcessStartError extends Error {
  override name = 'ProcessStartError';
}

export interface NodeProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines the process wrote to stdout and stderr (logs, for error messages). */
  recentOutput(): string;
  /** Calls `listener` for every line the process writes to stdout. */
  onLine(listener: (line: string) => void): void;
  stop(): Promise<void>;
}

const keptOutputLines = 20;

/** Every child still running, so an interrupted benchmark never leaves processes behind. */
const running = new Set<ChildProcess>();

/** Sends `signal` to every child still running (the runner calls this when it is interrupted or exits). */
export function signalAllChildren(signal: NodeJS.Signals): void {
  for (const child of running) child.kill(signal);
}

/** TypeScript runs through tsx; a compiled bundle runs as the Dockerfile runs it, with plain `node`. */
function loaderArgs(script: string): string[] {
  return script.endsWith('.ts') ? ['--import', 'tsx'] : [];
}

/**
 * Starts `node <script>` from the repository root (`--import tsx` for a `.ts` script). The
 * process is stopped (SIGTERM, then SIGKILL) when the scope closes.
 */
export function spawnNode(scope: Scope, name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): NodeProcess {
  const child = spawn(process.execPath, [...nodeArgs, ...loaderArgs(script), script], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const keep = (line: string) => {
    output.push(line);
    if (output.length > keptOutputLines) output.shift();
  };
  const listeners: Array<(line: string) => void> = [];
  createInterface({ input: child.stderr! }).on('line', keep);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    keep(line);
    for (const listener of listeners) listener(line);
  });

  running.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  scope.defer(`stop ${name}`, stop);
  if (child.pid === undefined) throw new ProcessStartError(`${name} did not start`);

  return {
    name,
    pid: child.pid,
    child,
    recentOutput: () => output.join('\n'),
    onLine: (listener) => listeners.push(listener),
    stop,
  };
}

/**
 * Polls `isReady` until it returns true. Fails fast, with the process's last
 * stderr lines, when the process exits first.
 */
export async function waitUntilReady(proc: NodeProcess, isReady: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new ProcessStartError(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before it was ready:\n${proc.recentOutput()}`);
    }
    if (await isReady().catch(() => false)) return;
    await sleep(100);
  }
  throw new ProcessStartError(`${proc.name} was not ready after ${timeoutMs / 1000} s:\n${proc.recentOutput()}`);
}

/** Resolves with the first stdout line that `match` accepts. */
export function firstLine(proc: NodeProcess, match: (line: string) => boolean, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ProcessStartError(`${proc.name} printed nothing expected in ${timeoutMs / 1000} s:\n${proc.recentOutput()}`)), timeoutMs);
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ProcessStartError(`${proc.name} exited (${code}):\n${proc.recentOutput()}`));
    });
    proc.onLine((line) => {
      if (!match(line)) return;
      clearTimeout(timer);
      resolve(line);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const MiB = 2 ** 20;

/** Resident set size of a process in bytes, from /proc (Linux), or undefined elsewhere. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  return (await resident(pid))?.total;
}

/**
 * A process's resident memory in bytes, split as /proc splits it: `anonymous` is the process's own
 * (heap, stacks, buffers); `file` is mapped files (the node binary, libraries) that it touched, which
 * the page cache shares with other processes. Undefined where /proc has none.
 */
export async function resident(pid: number): Promise<{ total: number; anonymous: number; file: number } | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kB = (field: string) => {
    const match = status && new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const total = kB('VmRSS');
  return total === undefined ? undefined : { total, anonymous: kB('RssAnon') ?? Number.NaN, file: kB('RssFile') ?? Number.NaN };
}

/** Resident set size of a process in MiB, to one decimal, or undefined where /proc has none. */
export async function residentMiB(pid: number): Promise<number | undefined> {
  const bytes = await residentBytes(pid);
  return bytes === undefined ? undefined : Math.round((bytes / MiB) * 10) / 10;
}

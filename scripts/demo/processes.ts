import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output goes to a log file; it is stopped with SIGTERM, then SIGKILL. */
export class ManagedProcess {
  readonly exited: Promise<Exit>;
  #child: ChildProcess;
  #exit: Exit | undefined;

  constructor(
    readonly name: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv; logPath: string },
  ) {
    const log = openSync(options.logPath, 'w');
    // Its own process group: Ctrl+C reaches the demo, which stops its children in order.
    this.#child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    this.logPath = options.logPath;
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  readonly logPath: string;

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 15_000): Promise<Exit> {
    if (!this.running) return this.#exit!;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** The last lines of its log. */
  tail(lines = 20): string {
    return tailOfFile(this.logPath, lines);
  }
}

/** Runs a command to completion, its output in a log file; resolves with the exit code. */
export function runToCompletion(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logPath: string; showStderr?: boolean },
): Promise<number> {
  const log = openSync(options.logPath, 'w');
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, options.showStderr ? 'inherit' : log] });
  closeSync(log);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** The last lines of a log file. */
export function tailOfFile(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

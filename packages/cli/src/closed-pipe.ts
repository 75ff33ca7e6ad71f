import type { Writable } from 'node:stream';

/**
 * `conveyor runs list --json | head` closes the pipe before the CLI has written everything: the
 * next write fails with EPIPE. Like any Unix tool, stop quietly then instead of printing a stack trace.
 */
export function exitQuietlyOnClosedPipe(stream: Writable, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return exit(0);
    throw error;
  });
}

/** Why a server could not listen, as one line, for the errors a person can fix (busy port, no permission). */
export function listenFailureLine(error: unknown, where: { name: string; setting: string; port: number; host: string }): string | null {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const at = `${where.host}:${where.port}`;
  if (code === 'EADDRINUSE') return `${where.name}: port ${at} is already in use (EADDRINUSE): stop the other process or set ${where.setting} to a free port`;
  if (code === 'EACCES') return `${where.name}: no permission to listen on ${at} (EACCES): set ${where.setting} to a port above 1023`;
  if (code === 'EADDRNOTAVAIL') return `${where.name}: ${where.host} is not an address of this machine (EADDRNOTAVAIL)`;
  return null;
}

/**
 * For a process's own listening socket: a busy port ends the process with one line on stderr
 * and exit code 1 instead of a stack trace. Other errors are rethrown.
 */
export function exitOnListenFailure(error: unknown, where: { name: string; setting: string; port: number; host: string }): never {
  const line = listenFailureLine(error, where);
  if (line === null) throw error;
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

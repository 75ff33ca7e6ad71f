import { readdir, readFile } from 'node:fs/promises';

/** Linux's clock ticks per second for /proc/<pid>/stat (`getconf CLK_TCK`; 100 on every Linux build in use). */
const TICKS_PER_SECOND = 100;

/** A process of ours by pid, or every process of the machine with this command name (`postgres`, `redis-server`). */
export type CpuGroup = { pids: number[] } | { command: string };

/** User + system CPU seconds of one process, or undefined where /proc has none (not Linux, or the process is gone). */
async function processCpuSeconds(pid: number): Promise<{ command: string; seconds: number } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // The command is in parentheses and may hold spaces; the fields after it are space-separated.
  const close = stat.lastIndexOf(')');
  const command = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
  return { command, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/**
 * CPU seconds used so far by each group. A process that exits between two readings takes its
 * CPU time with it: read around a window in which the groups' processes keep running
 * (Postgres's backends of a pool that stays open).
 */
export async function cpuSeconds(groups: Record<string, CpuGroup>): Promise<Record<string, number>> {
  const byCommand = new Map<string, number>();
  const wanted = new Set(Object.values(groups).flatMap((group) => ('command' in group ? [group.command] : [])));
  if (wanted.size > 0) {
    const pids = (await readdir('/proc').catch(() => [] as string[])).filter((name) => /^\d+$/.test(name));
    for (const pid of pids) {
      const usage = await processCpuSeconds(Number(pid));
      if (usage && wanted.has(usage.command)) byCommand.set(usage.command, (byCommand.get(usage.command) ?? 0) + usage.seconds);
    }
  }
  const result: Record<string, number> = {};
  for (const [name, group] of Object.entries(groups)) {
    if ('command' in group) result[name] = byCommand.get(group.command) ?? Number.NaN;
    else result[name] = (await Promise.all(group.pids.map(async (pid) => (await processCpuSeconds(pid))?.seconds ?? Number.NaN))).reduce((a, b) => a + b, 0);
  }
  return result;
}

/** CPU microseconds per unit of work (a step, a request) for each group, between two readings. */
export function cpuMicrosPer(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((name) => [name, Math.round(((after[name]! - before[name]!) * 1e6) / units)]));
}

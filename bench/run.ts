/**
 * `npm run bench [-- <name>…] [--quick] [--cpu-prof] [--results-dir <dir>]`
 *
 * Builds the API and worker (`npm run build`), runs the benchmarks one after another
 * against those compiled processes, prints one table (figure, baseline from the same
 * run, ratio, target, met?) and writes the results as JSON under bench/results/.
 * `--quick` runs every benchmark at a tiny size (the
 * test suite does this); `--cpu-prof` writes V8 CPU profiles of the product
 * processes next to the results.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRedis } from '@conveyor/core';
import type { Benchmark, BenchContext, BenchmarkOutcome, Size } from './harness/benchmark.ts';
import { meetsTarget } from './harness/benchmark.ts';
import { benchEnvironment, prepareServices, repoRoot, vacuumRunTables } from './harness/environment.ts';
import { describeMachine, machineInfo } from './harness/machine.ts';
import { signalAllChildren } from './harness/processes.ts';
import { buildProduct } from './harness/product.ts';
import { deleteKeys } from './harness/redis-keys.ts';
import { Scope } from './harness/scope.ts';
import { markdownTable, type TableRow, textTable } from './harness/table.ts';
import { benchmarks } from './benchmarks.ts';

class UsageError extends Error {
  override name = 'UsageError';
}

interface Invocation {
  names: string[];
  size: Size;
  resultsDir: string;
  cpuProfile: boolean;
  markdown: boolean;
}

function parseInvocation(argv: string[]): Invocation {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      'results-dir': { type: 'string' },
    },
  });
  const known = benchmarks.map((b) => b.name);
  const unknown = positionals.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown benchmark ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  return {
    names: positionals.length > 0 ? positionals : known,
    size: values.quick ? 'quick' : 'full',
    resultsDir: resolve(values['results-dir'] ?? join(repoRoot, 'bench/results')),
    cpuProfile: values['cpu-prof'] ?? false,
    markdown: values.markdown ?? false,
  };
}

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

interface BenchmarkReport {
  name: string;
  measures: string;
  baseline: string;
  seconds: number;
  figures: Array<BenchmarkOutcome['figures'][number] & { met?: boolean }>;
  details: Record<string, unknown>;
  error?: string;
}

async function runOne(benchmark: Benchmark, base: Omit<BenchContext, 'scope' | 'prefix' | 'log'>, cleanupRedis: import('ioredis').Redis, invocationId: string): Promise<BenchmarkReport> {
  const started = performance.now();
  const scope = new Scope();
  const prefixes: string[] = [];
  const ctx: BenchContext = {
    ...base,
    scope,
    prefix: (label) => {
      const prefix = `${base.env.prefixBase}-${label}-${invocationId}`;
      prefixes.push(prefix);
      return prefix;
    },
    log: (message) => log(`${benchmark.name}: +${((performance.now() - started) / 1000).toFixed(1)} s ${message}`),
  };
  const report: BenchmarkReport = { name: benchmark.name, measures: benchmark.measures, baseline: benchmark.baseline, seconds: 0, figures: [], details: {} };
  log(`${benchmark.name}: starting (${base.size})`);
  try {
    const outcome = await benchmark.run(ctx);
    report.figures = outcome.figures.map((figure) => ({ ...figure, met: meetsTarget(figure) }));
    report.details = outcome.details;
  } catch (error) {
    report.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log(`${benchmark.name}: FAILED: ${report.error}`);
  } finally {
    ctx.log('stopping');
    const failures = await scope.close();
    for (const failure of failures) log(`${benchmark.name}: cleanup: ${failure}`);
    for (const prefix of prefixes) await deleteKeys(cleanupRedis, prefix);
  }
  report.seconds = Math.round((performance.now() - started) / 100) / 10;
  log(`${benchmark.name}: done in ${report.seconds} s`);
  return report;
}

async function main(): Promise<number> {
  const invocation = parseInvocation(process.argv.slice(2));
  const env = benchEnvironment();
  log(`preparing services (database ${new URL(env.databaseUrl).pathname.slice(1)}, emptied; Redis prefix ${env.prefixBase}-*)`);
  await prepareServices(env);
  log('building the API and worker (npm run build)');
  await buildProduct();

  const redis = createRedis(env.redisUrl);
  try {
    const machine = await machineInfo(redis, env.databaseUrl);
    log(`machine: ${describeMachine(machine)}`);
    const date = new Date().toISOString();
    const profileDir = invocation.cpuProfile ? join(invocation.resultsDir, `profiles-${date.replaceAll(':', '-')}`) : undefined;
    const sharedValues = new Map<string, Promise<unknown>>();
    const base = {
      size: invocation.size,
      env,
      profileDir,
      shared: <T>(key: string, compute: () => Promise<T>) => {
        if (!sharedValues.has(key)) sharedValues.set(key, compute());
        return sharedValues.get(key) as Promise<T>;
      },
    };
    const invocationId = randomBytes(3).toString('hex');

    const reports: BenchmarkReport[] = [];
    for (const name of invocation.names) {
      reports.push(await runOne(benchmarks.find((b) => b.name === name)!, base, redis, invocationId));
      await vacuumRunTables(env.databaseUrl);
    }

    const rows: TableRow[] = reports.flatMap((r) => r.figures.map((figure) => ({ benchmark: r.name, figure })));
    process.stdout.write(`\nConveyor benchmarks, ${invocation.size} size, ${date}\n${describeMachine(machine)}\n\n`);
    process.stdout.write(`${invocation.markdown ? markdownTable(rows) : textTable(rows)}\n`);
    for (const report of reports.filter((r) => r.error)) process.stdout.write(`\n${report.name} did not complete: ${report.error}\n`);

    await mkdir(invocation.resultsDir, { recursive: true });
    const file = join(invocation.resultsDir, `${date.replaceAll(':', '-')}-${invocation.size}.json`);
    await writeFile(file, `${JSON.stringify({ date, size: invocation.size, machine, table: markdownTable(rows), benchmarks: reports }, null, 2)}\n`);
    process.stdout.write(`\nresults: ${relative(process.cwd(), file) || file}\n`);
    return reports.some((r) => r.error) ? 1 : 0;
  } finally {
    await redis.quit();
  }
}

// Interrupted (Ctrl-C, a test's timeout): stop the product processes first, then go.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the processes it started`);
    signalAllChildren('SIGTERM');
    setTimeout(() => process.exit(code), 3000).unref();
  });
}
process.once('exit', () => signalAllChildren('SIGKILL'));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(error instanceof UsageError ? 64 : 1);
  },
);

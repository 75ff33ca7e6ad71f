import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { testPrefix } from '@conveyor/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { benchmarks } from '../../../bench/benchmarks.ts';
import { siblingDatabaseUrl } from '../../../bench/harness/environment.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface Results {
  benchmarks: Array<{ name: string; error?: string; figures: Array<{ metric: string; value: number }>; details?: { cpuMicrosPerStep?: Record<string, number> } }>;
  machine: { cores: number; node: string; redis: string; postgres: string };
}

describe('npm run bench -- --quick', () => {
  let resultsDir: string | undefined;
  afterAll(async () => {
    if (resultsDir) await rm(resultsDir, { recursive: true, force: true });
  });

  // Generous bounds for a busy machine; on an idle 2-core machine the run takes about a minute.
  it('runs every benchmark at a tiny size and reports its figures', { timeout: 300_000 }, async () => {
    resultsDir = await mkdtemp(join(tmpdir(), 'conveyor-bench-'));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--results-dir', resultsDir], {
      cwd: repoRoot,
      env: {
        ...process.env,
        // The test database's own sibling and a test prefix: nothing another test file uses.
        BENCH_DATABASE_URL: siblingDatabaseUrl(process.env.DATABASE_URL!, 'bench'),
        BENCH_REDIS_URL: process.env.REDIS_URL,
        BENCH_REDIS_PREFIX: testPrefix('bench'),
      },
      timeout: 280_000, // then SIGTERM: the runner stops its processes before it exits
    });

    const [file] = await readdir(resultsDir);
    const results = JSON.parse(await readFile(join(resultsDir, file!), 'utf8')) as Results;
    expect(results.benchmarks.map((b) => b.name)).toEqual(benchmarks.map((b) => b.name));
    for (const benchmark of results.benchmarks) {
      expect(benchmark.error, benchmark.name).toBeUndefined();
      expect(benchmark.figures.length, benchmark.name).toBeGreaterThan(0);
      for (const figure of benchmark.figures) expect(Number.isFinite(figure.value), `${benchmark.name}: ${figure.metric}`).toBe(true);
    }
    // Which process each step cost what: the worker's share, and Postgres's (its backends are found by name).
    for (const name of ['steps', 'makespan']) {
      const cpu = results.benchmarks.find((b) => b.name === name)?.details?.cpuMicrosPerStep;
      expect(cpu?.workers, name).toBeGreaterThan(0);
      expect(Number.isFinite(cpu?.postgres), name).toBe(true);
    }
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.redis).not.toBe('unknown');
    expect(results.machine.postgres).not.toBe('unknown');
    for (const { name } of benchmarks) expect(stdout).toContain(name);
  });
});

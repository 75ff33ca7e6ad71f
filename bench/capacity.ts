import { freePort, parsePrometheusText } from '@conveyor/core';
import { type BenchContext, type Benchmark, ratioOf, targets } from './harness/benchmark.ts';
import { type CpuGroup, cpuMicrosPer, cpuSeconds } from './harness/cpu-time.ts';
import { emulatorLoad, scriptStreamingAnswers, setPacing } from './harness/emulator-admin.ts';
import { summarize } from './harness/stats.ts';
import { firstLine, MiB, residentMiB, sleep, spawnNode, waitUntilReady } from './harness/processes.ts';
import { productEntries } from './harness/product.ts';
import { profileArgs, startStack } from './harness/stack.ts';

/*
 * How many streaming runs one worker holds: the emulator streams each answer at
 * 40 tokens/s for 8-30 s, like a real model; the load steps up level by level, topped up four
 * times a second as runs end, while the worker's own /metrics gives its event-loop delay (p99 and longest over
 * the hold, once the level's runs have started) and RSS.
 */
const sizes = {
  // Levels past the target's show how far past it a worker holds; the delay and RSS rows are those of `targetLevel`.
  full: { warmUp: 200, levels: [50, 100, 250, 500, 1000, 1250, 1500], targetLevel: 1000, holdMs: 12_000, rampMs: 4000, callSeconds: [8, 30] as const },
  quick: { warmUp: 5, levels: [3, 6], targetLevel: 6, holdMs: 3000, rampMs: 1000, callSeconds: [1, 2] as const },
};
const TOKENS_PER_SECOND = 40;
const DELAY_LIMIT_MS = 50;
const MIN_PACE_KEPT = 0.95;
const TOP_UP_MS = 250;
/** prom-client's default `eventLoopMonitoringPrecision`, which the worker's metrics keep. */
const EVENT_LOOP_MONITOR_RESOLUTION_MS = 10;

interface Level {
  level: number;
  mostInFlight: number;
  /** Tokens the emulator streamed over the hold against 40 a second for each stream in flight. */
  paceKept: number;
  /** The p99 over the hold once the level is reached (after rampMs). */
  delayP99Ms: number;
  /** The longest delay over the same time. */
  delayMaxMs: number;
  /** The worst one-second p99 while the level's runs start. */
  rampDelayP99Ms: number;
  peakRssMiB: number;
  /** CPU microseconds the worker, the emulator and Redis spent over the hold per chunk the emulator streamed. */
  cpuMicrosPerChunk: Record<string, number>;
  /** Their CPU time over the hold as a share of one core. */
  coreShare: Record<string, number>;
}

export const capacity: Benchmark = {
  name: 'capacity',
  measures: 'streaming runs one worker holds in flight (40 tokens/s, 8-30 s calls) with event-loop delay p99 under 50 ms, and its RSS',
  baseline: 'the Anthropic SDK alone reading as many streams from the same emulator (delay, CPU per chunk); the idle worker (RSS)',
  async run(ctx) {
    const size = sizes[ctx.size];
    const stack = await startStack(ctx, { label: 'capacity', workers: 0 });
    const emulator = stack.emulator!;
    const metricsPort = await freePort();
    const worker = spawnNode(ctx.scope, 'worker 1', productEntries.worker, {
      ...stack.env,
      WORKER_CONCURRENCY: String(Math.max(...size.levels) * 2),
      WORKER_METRICS_PORT: String(metricsPort),
      // It is stopped holding hundreds of streaming runs: a short grace lets it exit (and write its --cpu-prof profile) before the harness kills it.
      WORKER_SHUTDOWN_GRACE_SECONDS: '2',
    }, profileArgs(ctx));
    await waitUntilReady(worker, async () => (await stack.runsQueue.getWorkersCount()) >= 1);
    // The worker's delay histogram (prom-client's, reset by each scrape) records the interval between its timer's
    // wake-ups, the monitor's resolution included: an idle loop reads about 10 ms. The delay is what exceeds it.
    const scrape = async () => {
      const samples = parsePrometheusText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
      const value = (name: string) => samples.find((sample) => sample.name === name)?.value ?? Number.NaN;
      const delayMs = (statistic: 'p99' | 'max') => Math.max(0, value(`conveyor_nodejs_eventloop_lag_${statistic}_seconds`) * 1000 - EVENT_LOOP_MONITOR_RESOLUTION_MS);
      return { delayP99Ms: delayMs('p99'), delayMaxMs: delayMs('max'), rssMiB: value('conveyor_process_resident_memory_bytes') / MiB };
    };
    const pipelineId = await stack.pipeline('capacity', 1);
    // A warm worker (JIT, lazy imports, first queries), as in production.
    ctx.log(`warming up with ${size.warmUp} runs`);
    await stack.api.createRuns(pipelineId, size.warmUp);
    await stack.db.waitForFinished(pipelineId, size.warmUp, 120_000);
    await stack.db.analyze();
    await setPacing(emulator.url, { tokensPerSecond: TOKENS_PER_SECOND });
    await sleep(1000);
    await scrape(); // starts a fresh delay window
    await sleep(1000);
    const idle = await scrape();

    const submit = async (count: number) => {
      await scriptStreamingAnswers(emulator.url, count, size.callSeconds, TOKENS_PER_SECOND);
      await stack.api.createRuns(pipelineId, count);
    };

    // Runs the worker holds, whether or not their call has reached the emulator yet; topped up four times a
    // second (the runs that end between top-ups, about 13 at 1,000 runs, are not in flight).
    const topUpFor = async (level: number, ms: number, eachTopUp?: () => Promise<void>) => {
      const ends = Date.now() + ms;
      while (Date.now() < ends) {
        const { active = 0, waiting = 0 } = await stack.runsQueue.getJobCounts('active', 'waiting');
        if (level - active - waiting > 0) await submit(level - active - waiting);
        await eachTopUp?.();
        await sleep(TOP_UP_MS);
      }
    };

    const levels: Level[] = [];
    for (const level of size.levels) {
      ctx.log(`holding ${level} streaming runs in flight for ${size.holdMs / 1000} s`);
      const result: Level = { level, mostInFlight: 0, paceKept: 0, delayP99Ms: 0, delayMaxMs: 0, rampDelayP99Ms: 0, peakRssMiB: 0, cpuMicrosPerChunk: {}, coreShare: {} };
      const noteRss = (rssMiB: number | undefined) => (result.peakRssMiB = Math.max(result.peakRssMiB, rssMiB ?? 0));
      // While the level's runs start: the worst one-second p99.
      await scrape();
      for (let second = 0; second < size.rampMs / 1000; second++) {
        await topUpFor(level, 1000);
        const { delayP99Ms, rssMiB } = await scrape();
        result.rampDelayP99Ms = Math.max(result.rampDelayP99Ms, delayP99Ms);
        noteRss(rssMiB);
      }
      // Held: one histogram over the whole hold (the scrape above reset it), RSS read from /proc every second.
      const { emulator: emulatorCpu, redis: redisCpu } = stack.cpuGroups();
      const cpuGroups = { worker: { pids: [worker.pid] }, emulator: emulatorCpu!, redis: redisCpu! };
      const heldFrom = await holdReading(cpuGroups, emulator.url);
      const inFlightSamples: number[] = [];
      const sampleInFlight = async () => void inFlightSamples.push((await emulatorLoad(emulator.url)).inFlight);
      for (let second = 0; second < (size.holdMs - size.rampMs) / 1000; second++) {
        await topUpFor(level, 1000, sampleInFlight);
        noteRss(await residentMiB(worker.pid));
      }
      const held = await scrape();
      const heldTo = await holdReading(cpuGroups, emulator.url);
      const inFlight = summarize(inFlightSamples);
      result.mostInFlight = inFlight.max;
      // paceKept: chunks the emulator wrote against what the streams in flight should have had; below 1, it fell behind its pace.
      Object.assign(result, overTheHold(heldFrom, heldTo, inFlight.mean));
      result.delayP99Ms = held.delayP99Ms;
      result.delayMaxMs = held.delayMaxMs;
      noteRss(held.rssMiB);
      ctx.log(`${level}: ${result.mostInFlight} in flight (pace kept ${result.paceKept.toFixed(2)}), event-loop delay p99 ${result.delayP99Ms.toFixed(1)} ms, max ${result.delayMaxMs.toFixed(1)} ms (worst second's p99 while they start ${result.rampDelayP99Ms.toFixed(1)} ms), RSS ${result.peakRssMiB.toFixed(0)} MiB, CPU per chunk ${JSON.stringify(result.cpuMicrosPerChunk)} µs, share of a core ${JSON.stringify(result.coreShare)}`);
      levels.push(result);
      // Far past the limit, higher levels tell nothing more.
      if (result.delayP99Ms >= 10 * DELAY_LIMIT_MS) break;
    }
    await worker.stop();
    const sdkAlone = await sdkAloneReading(ctx, emulator.url, size, stack.cpuGroups().emulator!);
    ctx.log(`the Anthropic SDK alone reading ${size.targetLevel} streams: event-loop delay p99 ${sdkAlone.delayP99Ms.toFixed(1)} ms, CPU per chunk ${JSON.stringify(sdkAlone.cpuMicrosPerChunk)} µs, share of a core ${JSON.stringify(sdkAlone.coreShare)}`);
    await setPacing(emulator.url, { tokensPerSecond: 0 });

    // The highest level that held, every level below it having held too. A level the emulator could not stream at
    // its pace did not put its load on the worker, and does not count as held.
    const firstMiss = levels.findIndex((level) => level.delayP99Ms >= DELAY_LIMIT_MS || level.paceKept < MIN_PACE_KEPT);
    const best = (firstMiss === -1 ? levels : levels.slice(0, firstMiss)).at(-1);
    const top = levels.find((level) => level.level === size.targetLevel) ?? levels.at(-1)!;
    return {
      figures: [
        // A level is the runs the worker holds (kept topped up); `mostInFlight` in the details is how many were streaming at once.
        { metric: `streaming runs held, 1 worker, event-loop delay p99 < ${DELAY_LIMIT_MS} ms`, value: best?.level ?? 0, unit: 'runs', target: targets.atLeast(1000, 'runs') },
        { metric: `event-loop delay p99, ${top.level} streaming runs held (vs the SDK alone reading ${size.targetLevel} streams)`, value: top.delayP99Ms, unit: 'ms', baseline: sdkAlone.delayP99Ms, ratio: ratioOf(top.delayP99Ms, sdkAlone.delayP99Ms), target: targets.below(DELAY_LIMIT_MS, 'ms') },
        { metric: `event-loop delay, longest, ${top.level} streaming runs held`, value: top.delayMaxMs, unit: 'ms', baseline: sdkAlone.delayMaxMs, ratio: ratioOf(top.delayMaxMs, sdkAlone.delayMaxMs) },
        { metric: `worker CPU per streamed chunk, ${top.level} streaming runs held (vs the SDK alone)`, value: top.cpuMicrosPerChunk.worker ?? Number.NaN, unit: 'µs', baseline: sdkAlone.cpuMicrosPerChunk.reader, ratio: ratioOf(top.cpuMicrosPerChunk.worker ?? Number.NaN, sdkAlone.cpuMicrosPerChunk.reader) },
        { metric: `worker RSS, ${top.level} streaming runs held`, value: top.peakRssMiB, unit: 'MiB', baseline: idle.rssMiB, target: targets.below(512, 'MiB') },
      ],
      details: { ...size, tokensPerSecond: TOKENS_PER_SECOND, idle, levels, sdkAlone },
    };
  },
};

/** The baseline's figures, taken as a level's are. */
interface SdkAlone extends Pick<Level, 'delayP99Ms' | 'delayMaxMs' | 'paceKept' | 'cpuMicrosPerChunk' | 'coreShare'> {
  streams: number;
  rssMiB: number;
}

/**
 * The baseline: the target level's streams read by the Anthropic SDK alone, in a process of its own
 * (bench/baselines/sdk-stream-reader.ts), from the same emulator at the same pace, the worker stopped.
 */
async function sdkAloneReading(ctx: BenchContext, emulatorUrl: string, size: (typeof sizes)[keyof typeof sizes], emulatorCpu: CpuGroup): Promise<SdkAlone> {
  ctx.log(`baseline: the Anthropic SDK alone reading ${size.targetLevel} streams`);
  const reader = spawnNode(ctx.scope, 'SDK stream reader', 'bench/baselines/sdk-stream-reader.ts', {
    EMULATOR_URL: emulatorUrl,
    STREAMS: String(size.targetLevel),
    CALL_SECONDS: size.callSeconds.join(','),
    TOKENS_PER_SECOND: String(TOKENS_PER_SECOND),
    RAMP_MS: String(size.rampMs),
    HOLD_MS: String(size.holdMs - size.rampMs),
  });
  const result = firstLine(reader, (line) => line.startsWith('{'), size.holdMs + 60_000);
  await firstLine(reader, (line) => line === 'holding', size.rampMs + 60_000);
  const cpuGroups = { reader: { pids: [reader.pid] }, emulator: emulatorCpu };
  const from = await holdReading(cpuGroups, emulatorUrl);
  const { delayP99Ms, delayMaxMs, rssMiB } = JSON.parse(await result) as { delayP99Ms: number; delayMaxMs: number; rssMiB: number };
  const to = await holdReading(cpuGroups, emulatorUrl);
  await reader.stop();
  return { streams: size.targetLevel, delayP99Ms, delayMaxMs, rssMiB, ...overTheHold(from, to, size.targetLevel) };
}

type HoldReading = { at: number; cpu: Record<string, number>; streamedChunks: number };

/** The time, the CPU time of each group and the chunks the emulator has streamed so far. */
async function holdReading(cpuGroups: Record<string, CpuGroup>, emulatorUrl: string): Promise<HoldReading> {
  return { at: performance.now(), cpu: await cpuSeconds(cpuGroups), streamedChunks: (await emulatorLoad(emulatorUrl)).streamedChunks };
}

/** Between two readings: the share of its pace the emulator kept for `streams` streams, and each group's CPU per chunk and share of a core. */
function overTheHold(from: HoldReading, to: HoldReading, streams: number) {
  const seconds = (to.at - from.at) / 1000;
  const chunks = to.streamedChunks - from.streamedChunks;
  return {
    paceKept: chunks / (TOKENS_PER_SECOND * seconds * streams),
    cpuMicrosPerChunk: cpuMicrosPer(from.cpu, to.cpu, chunks),
    coreShare: Object.fromEntries(Object.keys(from.cpu).map((name) => [name, Number(((to.cpu[name]! - from.cpu[name]!) / seconds).toFixed(2))])),
  };
}

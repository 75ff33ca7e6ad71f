import { loadConfig } from '@conveyor/core';
import { type Benchmark, ratioOf, targets } from './harness/benchmark.ts';
import { requestsInFlight, setPacing } from './harness/emulator-admin.ts';
import { MiB, resident, sleep } from './harness/processes.ts';
import { keyFootprint, usedMemory } from './harness/redis-keys.ts';
import { startStack } from './harness/stack.ts';

const sizes = {
  full: { inFlight: 200, fewRuns: 1000, manyRuns: 10_000, holdMs: 8000 },
  quick: { inFlight: 5, fewRuns: 20, manyRuns: 60, holdMs: 3000 },
};

/** Beyond the retention, for Redis' active expiry cycle to reclaim the last streams. */
const EXPIRY_MARGIN_MS = 2000;

export const memory: Benchmark = {
  name: 'memory',
  measures: 'worker RSS with 200 runs in flight; Redis used_memory after 1,000 and after 10,000 finished runs, once their event retention has passed',
  baseline: 'the idle worker; the empty Redis (and the 1,000-run Redis for the 10,000-run figure)',
  async run(ctx) {
    const size = sizes[ctx.size];
    const stack = await startStack(ctx, { label: 'memory', workers: 1, workerConcurrency: size.inFlight });
    const worker = stack.workers[0]!;
    const unknown = { total: Number.NaN, anonymous: Number.NaN, file: Number.NaN };
    const rss = async () => (await resident(worker.pid)) ?? unknown;
    // The retention the workers run with: their environment is this process's, overridden by the stack's.
    const retentionSeconds = loadConfig({ ...process.env, ...stack.env }).RUN_EVENTS_RETENTION_SECONDS;
    const redisFootprint = async () => ({ usedMemory: await usedMemory(stack.redis), ...(await keyFootprint(stack.redis, stack.prefix)) });

    await sleep(1000);
    const idleRss = await rss();
    const emptyRedis = await usedMemory(stack.redis);
    const pipelineId = await stack.pipeline('memory', 1);

    // Each provider call waits holdMs, so the runs pile up in flight; RSS is sampled while they wait.
    ctx.log(`holding ${size.inFlight} runs in flight`);
    const emulator = stack.emulator!;
    await setPacing(emulator.url, { latencyMs: size.holdMs });
    const holdEnds = Date.now() + size.holdMs;
    await stack.api.createRuns(pipelineId, size.inFlight);
    let peakRss = idleRss;
    let mostInFlight = 0;
    while (Date.now() < holdEnds) {
      const inFlight = await requestsInFlight(emulator.url);
      mostInFlight = Math.max(mostInFlight, inFlight);
      if (inFlight > 0) {
        const now = await rss();
        if (now.total > peakRss.total) peakRss = now;
      }
      await sleep(100);
    }
    await setPacing(emulator.url, { latencyMs: 0 });
    await stack.db.waitForFinished(pipelineId, size.inFlight, 60_000);
    await stack.db.analyze();

    const finishRuns = async (total: number) => {
      const { succeeded, failed } = await stack.db.times(pipelineId);
      ctx.log(`running ${total - succeeded - failed} more runs (to ${total})`);
      await stack.api.createRuns(pipelineId, total - succeeded - failed);
      const times = await stack.db.waitForFinished(pipelineId, total, 600_000);
      await sleep(1000); // let the workers' last writes and Redis' lazy frees settle
      const immediate = await redisFootprint();
      // What a user sees once the runs are over: the last runs' event streams have expired.
      ctx.log(`waiting ${retentionSeconds} s (RUN_EVENTS_RETENTION_SECONDS) + ${EXPIRY_MARGIN_MS / 1000} s for the last event streams to expire`);
      await sleep(retentionSeconds * 1000 + EXPIRY_MARGIN_MS);
      return { ...(await redisFootprint()), immediate, failed: times.failed };
    };
    const afterFew = await finishRuns(size.fewRuns);
    const afterMany = await finishRuns(size.manyRuns);

    return {
      figures: [
        { metric: `worker RSS, ${mostInFlight} runs in flight`, value: peakRss.total / MiB, unit: 'MiB', baseline: idleRss.total / MiB, ratio: ratioOf(peakRss.total, idleRss.total), target: targets.below(150, 'MiB') },
        { metric: `Redis used_memory after ${size.fewRuns.toLocaleString('en-US')} runs (vs empty)`, value: afterFew.usedMemory / MiB, unit: 'MiB', baseline: emptyRedis / MiB, ratio: ratioOf(afterFew.usedMemory, emptyRedis) },
        { metric: `Redis used_memory after ${size.manyRuns.toLocaleString('en-US')} runs (vs ${size.fewRuns.toLocaleString('en-US')})`, value: afterMany.usedMemory / MiB, unit: 'MiB', baseline: afterFew.usedMemory / MiB, ratio: ratioOf(afterMany.usedMemory, afterFew.usedMemory), target: targets.ratioAtMost(1.2) },
        { metric: `Redis keys of the run prefix after ${size.manyRuns.toLocaleString('en-US')} runs (vs ${size.fewRuns.toLocaleString('en-US')})`, value: afterMany.bytes / MiB, unit: 'MiB', baseline: afterFew.bytes / MiB, ratio: ratioOf(afterMany.bytes, afterFew.bytes), target: targets.ratioAtMost(1.2) },
      ],
      details: { ...size, retentionSeconds, expiryMarginMs: EXPIRY_MARGIN_MS, mostInFlight, idleRss: idleRss.total, peakRss: peakRss.total, resident: { idle: idleRss, peak: peakRss }, emptyRedis, afterFew, afterMany },
    };
  },
};

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRedis, freePort } from '@conveyor/core';
import { mapLimit } from './harness/api-client.ts';
import { type Benchmark, type BenchContext, ratioOf, targets } from './harness/benchmark.ts';
import { type CpuGroup, cpuMicrosPer, cpuSeconds } from './harness/cpu-time.ts';
import { setPacing } from './harness/emulator-admin.ts';
import { firstLine, sleep, spawnNode } from './harness/processes.ts';
import { type Stack, startStack } from './harness/stack.ts';
import { subscribe } from './harness/sse-client.ts';
import { summarize, wallClockMs } from './harness/stats.ts';

interface SseSize {
  runs: number;
  subscribersPerRun: number;
  tokens: number;
  tokensPerSecond: number;
}

const sizes: Record<'full' | 'quick', SseSize> = {
  full: { runs: 25, subscribersPerRun: 4, tokens: 30, tokensPerSecond: 20 },
  quick: { runs: 2, subscribersPerRun: 2, tokens: 5, tokensPerSecond: 50 },
};

/** Many clients on few runs: 1,000 subscribers across the two API processes. */
const fanOutSizes: Record<'full' | 'quick', SseSize> = {
  full: { runs: 10, subscribersPerRun: 100, tokens: 30, tokensPerSecond: 20 },
  quick: { runs: 1, subscribersPerRun: 20, tokens: 5, tokensPerSecond: 50 },
};

const benchToken = /\bq\d+w\d+\b/g;

/** Publish → receive over Redis pub/sub, to two subscriber connections (as two API processes would), at the delta rate of the workload. */
async function pubSubRoundTrip(ctx: BenchContext, messages: number, perSecond: number): Promise<number[]> {
  const channel = `${ctx.prefix('sse-pubsub')}:baseline`;
  const publisher = createRedis(ctx.env.redisUrl);
  const subscribers = [createRedis(ctx.env.redisUrl), createRedis(ctx.env.redisUrl)];
  ctx.scope.defer('close pub/sub baseline connections', () => Promise.all([publisher, ...subscribers].map((c) => c.quit())));
  const latencies: number[] = [];
  for (const subscriber of subscribers) {
    subscriber.on('message', (_channel: string, message: string) => latencies.push(wallClockMs() - Number(message)));
    await subscriber.subscribe(channel);
  }
  const gapMs = 1000 / perSecond;
  for (let i = 0; i < messages; i++) {
    await publisher.publish(channel, String(wallClockMs()));
    await sleep(gapMs);
  }
  const deadline = Date.now() + 5000;
  while (latencies.length < messages * subscribers.length && Date.now() < deadline) await sleep(20);
  return latencies;
}

export const sse: Benchmark = {
  name: 'sse',
  measures: 'step.delta latency from the emulator sending a chunk to an SSE client receiving it, 100 subscribers across 2 API processes',
  baseline: 'Redis pub/sub publish → receive, measured in the same run',
  run: (ctx) => measureDeltaLatency(ctx, 'sse', sizes[ctx.size], 10),
};

export const sseFanOut: Benchmark = {
  name: 'sse-fanout',
  measures: 'step.delta latency as in sse, 1,000 subscribers (100 per run) across 2 API processes',
  baseline: 'Redis pub/sub publish → receive, measured in the same run',
  run: (ctx) => measureDeltaLatency(ctx, 'sse-fanout', fanOutSizes[ctx.size], 50),
};

async function measureDeltaLatency(ctx: BenchContext, label: string, size: SseSize, p99TargetMs: number) {
  const stack = await startStack(ctx, { label, apis: 2, workers: 1, workerConcurrency: size.runs, stampTokens: true, paused: true });
  await stack.warmUp(size.runs, 1);
  const sentAt = new Map<string, number>();
  stack.emulator!.process.onLine((line) => {
    const [kind, token, at] = line.split(' ');
    if (kind === 'stamp' && token && at) sentAt.set(token, Number(at));
  });

  ctx.log('baseline: Redis pub/sub round trip');
  const baseline = summarize(await pubSubRoundTrip(ctx, size.runs * size.tokens, size.runs * size.tokensPerSecond));

  await setPacing(stack.emulator!.url, { tokensPerSecond: size.tokensPerSecond });
  const pipelineId = await stack.pipeline(label, 1);
  const product = await warmThenMeasure(ctx, stack, size, sentAt, pipelineId, {
    name: 'product',
    firstRun: 0,
    subscriptionOf: (runId, s) => {
      const api = stack.apis[s % stack.apis.length]!;
      return { url: `${api.url}/v1/runs/${runId}/events`, headers: { authorization: api.client.authorization } };
    },
  });

  ctx.log('baseline: the same load through two hand-built relays (one XREAD per run, node:http)');
  const relays = await Promise.all(
    stack.apis.map(async (_, i) => {
      const port = await freePort();
      const relay = spawnNode(ctx.scope, `SSE relay ${i + 1}`, 'bench/baselines/sse-relay-server.ts', { PORT: String(port), REDIS_URL: ctx.env.redisUrl, REDIS_PREFIX: stack.env.REDIS_PREFIX! });
      await firstLine(relay, (line) => line === 'ready');
      return { url: `http://127.0.0.1:${port}`, pid: relay.pid };
    }),
  );
  await stack.runsQueue.pause();
  const handBuilt = await warmThenMeasure(ctx, stack, size, sentAt, pipelineId, {
    name: 'hand-built relay',
    firstRun: 2 * size.runs,
    subscriptionOf: (runId, s) => ({ url: `${relays[s % relays.length]!.url}/runs/${runId}/events`, headers: {} }),
    cpuGroups: { relays: { pids: relays.map((relay) => relay.pid) } },
  });

  return {
    figures: [
      { metric: 'delta latency p50', value: product.latency.p50, unit: 'ms', baseline: baseline.p50, ratio: ratioOf(product.latency.p50, baseline.p50) },
      { metric: 'delta latency p99', value: product.latency.p99, unit: 'ms', baseline: baseline.p99, ratio: ratioOf(product.latency.p99, baseline.p99), target: targets.below(p99TargetMs, 'ms') },
      { metric: 'delta latency p99, vs a hand-built relay', value: product.latency.p99, unit: 'ms', baseline: handBuilt.latency.p99, ratio: ratioOf(product.latency.p99, handBuilt.latency.p99) },
    ],
    details: { ...size, ...product.details, product: product.latency, baseline, handBuiltRelay: { ...handBuilt.details, latency: handBuilt.latency } },
  };
}

interface Round {
  name: string;
  /** Runs' tokens are numbered from here, so that no round's token is another's. */
  firstRun: number;
  subscriptionOf: (runId: string, subscriber: number) => { url: string; headers: Record<string, string> };
  /** Processes serving the clients besides the stack's own. */
  cpuGroups?: Record<string, CpuGroup>;
}

/**
 * Runs `round` twice, the first time unmeasured: the servers' delivery path is then warm (its
 * code optimised, its first writes done), as it is in a process that has served runs before.
 * Measured cold, each process's first events to its clients took 5 to 25 times as long as the
 * rest, and those made the p99. The warm-up's tokens follow the round's own.
 */
async function warmThenMeasure(ctx: BenchContext, stack: Stack, size: SseSize, sentAt: ReadonlyMap<string, number>, pipelineId: string, round: Round) {
  await measureRound(ctx, stack, size, sentAt, pipelineId, { ...round, name: `${round.name} (warm-up)`, firstRun: round.firstRun + size.runs });
  await stack.runsQueue.pause();
  return measureRound(ctx, stack, size, sentAt, pipelineId, round);
}

/** Submits the size's runs (the queue paused), subscribes the clients, releases the runs and measures every delta's latency. */
async function measureRound(ctx: BenchContext, stack: Stack, size: SseSize, sentAt: ReadonlyMap<string, number>, pipelineId: string, round: Round) {
  const runs = await stack.api.createRuns(pipelineId, size.runs, (i) => Array.from({ length: size.tokens }, (_, w) => `q${round.firstRun + i}w${w}`).join(' '));
  await stack.db.analyze();

  const connectStarted = performance.now();
  const subscriptions = runs.flatMap((run) =>
    Array.from({ length: size.subscribersPerRun }, (_, s) => {
      const { url, headers } = round.subscriptionOf(run.id, s);
      return subscribe(url, headers);
    }),
  );
  ctx.scope.defer('close SSE subscriptions', () => subscriptions.forEach((s) => s.close()));
  await Promise.all(subscriptions.map((s) => s.opened));
  const connectMs = performance.now() - connectStarted;
  ctx.log(`${round.name}: ${subscriptions.length} subscribers connected in ${connectMs.toFixed(0)} ms; releasing ${size.runs} runs`);
  // The clients' own process takes part in every figure: how late its event loop ran is reported beside them.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  // The benchmark's own process is the clients' (and little else while the runs stream).
  const cpuGroups = { ...stack.cpuGroups(), ...round.cpuGroups, clients: { pids: [process.pid] } };
  const cpuBefore = await cpuSeconds(cpuGroups);
  await stack.runsQueue.resume();
  const streams = await mapLimit(subscriptions, subscriptions.length, (s, i) =>
    Promise.race([
      s.closed,
      sleep(120_000).then(() => {
        const last = s.received().at(-1);
        throw new Error(`SSE stream ${i} (run ${runs[Math.floor(i / size.subscribersPerRun)]!.id}) did not end within 120 s; ${s.received().length} events, the last: ${last ? `${last.event} ${last.data.slice(0, 120)}` : 'none'}`);
      }),
    ]),
  );
  loopDelay.disable();
  const cpuAfter = await cpuSeconds(cpuGroups);
  await sleep(200); // the emulator's last stamp lines may still be in its stdout pipe

  const latencies: number[] = [];
  /**
   * By the word's place in its run: the first words go out while every run starts, the last
   * one while every run ends (the runs stream in step, so each of those moments is one burst).
   */
  const byPlace = { firstThree: [] as number[], last: [] as number[], rest: [] as number[] };
  // The two halves, split at the moment Redis stored the delta (its stream id, ms resolution).
  const toStream: number[] = [];
  const fromStream: number[] = [];
  const lastToStream: number[] = [];
  const lastFromStream: number[] = [];
  let unmatched = 0;
  for (const events of streams) {
    for (const event of events.filter((e) => e.event === 'step.delta')) {
      const text = String((JSON.parse(event.data) as { text?: unknown }).text ?? '');
      for (const [token] of text.matchAll(benchToken)) {
        const sent = sentAt.get(token);
        if (sent === undefined) unmatched += 1;
        else {
          latencies.push(event.receivedAt - sent);
          const place = Number(token.slice(token.indexOf('w') + 1));
          (place < 3 ? byPlace.firstThree : place === size.tokens - 1 ? byPlace.last : byPlace.rest).push(event.receivedAt - sent);
          const writtenAt = Number(event.id?.split('-')[0]);
          if (Number.isFinite(writtenAt)) {
            toStream.push(writtenAt - sent);
            fromStream.push(event.receivedAt - writtenAt);
            if (place === size.tokens - 1) {
              lastToStream.push(writtenAt - sent);
              lastFromStream.push(event.receivedAt - writtenAt);
            }
          }
        }
      }
    }
  }
  const expected = size.runs * size.tokens * size.subscribersPerRun;
  if (latencies.length === 0) throw new Error('no step.delta event carried a benchmark token');
  const latency = summarize(latencies);
  const terminal = streams.map((events) => events.at(-1)?.event);

  return {
    latency,
    details: {
      subscribers: subscriptions.length,
      connectMs,
      // Every event every client received, deltas or not: what each process spent per delivered event.
      cpuMicrosPerDeliveredEvent: cpuMicrosPer(cpuBefore, cpuAfter, streams.reduce((sum, events) => sum + events.length, 0)),
      deltasExpected: expected,
      deltasMeasured: latencies.length,
      unmatched,
      lastEvents: Object.fromEntries([...new Set(terminal)].map((e) => [String(e), terminal.filter((t) => t === e).length])),
      clientLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      firstThreeDeltasOfEachRun: summarize(byPlace.firstThree),
      lastDeltaOfEachRun: { ...summarize(byPlace.last), emulatorToRedis: summarize(lastToStream), redisToClient: summarize(lastFromStream) },
      otherDeltas: summarize(byPlace.rest),
      emulatorToRedis: summarize(toStream),
      redisToClient: summarize(fromStream),
    },
  };
}

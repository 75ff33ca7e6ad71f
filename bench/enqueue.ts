import { type Benchmark, ratioOf, targets } from './harness/benchmark.ts';
import { postLoad } from './harness/load.ts';
import { firstLine, residentMiB, spawnNode } from './harness/processes.ts';
import { freePort } from '@conveyor/core';
import { startStack } from './harness/stack.ts';
import type { CpuGroup } from './harness/cpu-time.ts';

/** Besides the server under load: Postgres, Redis and this process, whose autocannon sends the requests and reads the answers. */
const alongside: Record<string, CpuGroup> = { postgres: { command: 'postgres' }, redis: { command: 'redis-server' }, loadGenerator: { pids: [process.pid] } };


const sizes = {
  full: { connections: 64, warmupSeconds: 3, seconds: 10 },
  quick: { connections: 8, warmupSeconds: 0, seconds: 1 },
};

export const enqueue: Benchmark = {
  name: 'enqueue',
  measures: 'POST /v1/pipelines/:id/runs: req/s and p50/p99 latency under load (autocannon, after a warm-up)',
  baseline: 'a bare Hono route on @hono/node-server that only does queue.add; and a hand-built route that inserts the run into Postgres, then does queue.add',
  async run(ctx) {
    const size = sizes[ctx.size];
    const stack = await startStack(ctx, { label: 'enqueue', emulator: false });
    const pipelineId = await stack.pipeline('enqueue', 1);

    const barePort = await freePort();
    const bare = spawnNode(ctx.scope, 'bare enqueue server', 'bench/baselines/bare-enqueue-server.ts', {
      PORT: String(barePort),
      REDIS_URL: ctx.env.redisUrl,
      REDIS_PREFIX: ctx.prefix('enqueue-bare'),
    });
    await firstLine(bare, (line) => line === 'ready');
    ctx.log(`bare route: ${size.connections} connections, ${size.seconds} s`);
    const baseline = await postLoad({
      url: `http://127.0.0.1:${barePort}/runs`,
      body: { input: 'bench' },
      ...size,
      cpuGroups: { server: { pids: [bare.pid] }, ...alongside },
    });
    const bareResidentMiB = await residentMiB(bare.pid);
    await bare.stop();

    const handBuiltPort = await freePort();
    const handBuilt = spawnNode(ctx.scope, 'hand-built enqueue server', 'bench/baselines/handbuilt-enqueue-server.ts', {
      PORT: String(handBuiltPort),
      DATABASE_URL: ctx.env.databaseUrl,
      REDIS_URL: ctx.env.redisUrl,
      REDIS_PREFIX: ctx.prefix('enqueue-handbuilt'),
    });
    await firstLine(handBuilt, (line) => line === 'ready');
    ctx.log(`hand-built route (insert + queue.add): ${size.connections} connections, ${size.seconds} s`);
    const handBuiltLoad = await postLoad({
      url: `http://127.0.0.1:${handBuiltPort}/pipelines/${pipelineId}/runs`,
      body: { input: 'bench' },
      ...size,
      cpuGroups: { server: { pids: [handBuilt.pid] }, ...alongside },
    });
    const handBuiltResidentMiB = await residentMiB(handBuilt.pid);
    await handBuilt.stop();

    ctx.log(`product route: ${size.connections} connections, ${size.seconds} s`);
    const product = await postLoad({
      url: `${stack.apis[0]!.url}/v1/pipelines/${pipelineId}/runs`,
      headers: { authorization: stack.api.authorization },
      body: { input: 'bench' },
      ...size,
      cpuGroups: { server: { pids: [stack.apis[0]!.process.pid] }, ...alongside },
    });
    const productResidentMiB = await residentMiB(stack.apis[0]!.process.pid);

    return {
      figures: [
        { metric: 'runs enqueued per second', value: product.requestsPerSecond, unit: 'req/s', baseline: baseline.requestsPerSecond, ratio: ratioOf(product.requestsPerSecond, baseline.requestsPerSecond), target: targets.ratioAtLeast(0.5) },
        { metric: 'p50 latency', value: product.p50Ms, unit: 'ms', baseline: baseline.p50Ms, ratio: ratioOf(product.p50Ms, baseline.p50Ms) },
        { metric: 'p99 latency', value: product.p99Ms, unit: 'ms', baseline: baseline.p99Ms, ratio: ratioOf(product.p99Ms, baseline.p99Ms), target: targets.atMost(25, 'ms') },
        {
          metric: 'runs enqueued per second, vs hand-built insert + queue.add',
          value: product.requestsPerSecond,
          unit: 'req/s',
          baseline: handBuiltLoad.requestsPerSecond,
          ratio: ratioOf(product.requestsPerSecond, handBuiltLoad.requestsPerSecond),
          target: targets.ratioAtLeast(1),
        },
        { metric: 'p99 latency, vs hand-built', value: product.p99Ms, unit: 'ms', baseline: handBuiltLoad.p99Ms, ratio: ratioOf(product.p99Ms, handBuiltLoad.p99Ms) },
      ],
      details: {
        ...size,
        product: { ...product, residentMiB: productResidentMiB },
        baseline: { ...baseline, residentMiB: bareResidentMiB },
        handBuilt: { ...handBuiltLoad, residentMiB: handBuiltResidentMiB },
      },
    };
  },
};

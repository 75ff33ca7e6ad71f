import { type Benchmark, type BenchContext, ratioOf, targets } from './harness/benchmark.ts';
import type { RunTimes } from './harness/runs-db.ts';
import { type Stack, startStack } from './harness/stack.ts';
import { startInstantToolServer } from './harness/tool-server.ts';

/** Per batch; batches of one-shot and tool-loop runs alternate, so a machine whose load drifts weighs on both alike. */
const sizes = {
  full: { batches: 4, oneShotRuns: 1000, toolRuns: 250, toolRounds: 3, concurrency: 50, warmUpRuns: 200 },
  quick: { batches: 1, oneShotRuns: 20, toolRuns: 10, toolRounds: 2, concurrency: 10, warmUpRuns: 5 },
};

/**
 * A step prompt that makes the emulated model call `lookup` once on each of its first `rounds`
 * turns and answer in text on the next: rounds + 1 model turns and `rounds` tool calls per step.
 */
function toolLoopPrompt(rounds: number): string {
  const calls = Array.from({ length: rounds }, (_, i) => `[[emulator:tool@${i + 1}=lookup {"q":"item ${i + 1}"}]]`);
  return `{{input}} ${calls.join(' ')}`;
}

async function toolLoopPipeline(ctx: BenchContext, stack: Stack, label: string, toolUrl: string, rounds: number): Promise<string> {
  const agent = await stack.api.request<{ id: string }>('POST', '/v1/agents', {
    name: `bench ${label} agent`,
    model: 'claude-sonnet-4-6',
    maxTokens: 1024,
    maxTurns: rounds + 1,
    tools: [
      {
        type: 'http',
        name: 'lookup',
        description: 'Looks an item up',
        inputSchema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
        url: toolUrl,
      },
    ],
  });
  const pipeline = await stack.api.request<{ id: string }>('POST', '/v1/pipelines', {
    name: `bench ${label}`,
    steps: [{ agentId: agent.id, prompt: toolLoopPrompt(rounds) }],
  });
  if (!ctx.env.keepRuns) ctx.scope.defer(`delete runs of ${pipeline.id}`, () => stack.db.deleteRuns(pipeline.id));
  return pipeline.id;
}

/**
 * Submits runs with the queue paused until the pipeline has `total`, releases them at once and
 * waits for the last; pauses the queue again.
 */
async function released(stack: Stack, pipelineId: string, total: number): Promise<RunTimes & { seconds: number }> {
  const before = await stack.db.times(pipelineId);
  await stack.api.createRuns(pipelineId, total - before.total);
  await stack.db.analyze();
  const releasedAt = Date.now();
  await stack.runsQueue.resume();
  const times = await stack.db.waitForFinished(pipelineId, total, 300_000);
  await stack.runsQueue.pause();
  return { ...times, seconds: (times.lastFinishedAt - releasedAt) / 1000 };
}

/** Model turns and tool calls recorded for the pipeline's runs (what the worker really did). */
async function recorded(stack: Stack, pipelineId: string): Promise<{ turns: number; toolCalls: number; toolErrors: number }> {
  const { rows } = await stack.db.pool.query<{ turns: string; tool_calls: string; tool_errors: string }>(
    `SELECT (SELECT count(*) FROM run_step_turns t JOIN runs r ON r.id = t.run_id WHERE r.pipeline_id = $1) AS turns,
            count(*) AS tool_calls, count(*) FILTER (WHERE c.is_error) AS tool_errors
       FROM run_tool_calls c JOIN runs r ON r.id = c.run_id WHERE r.pipeline_id = $1`,
    [pipelineId],
  );
  const row = rows[0]!;
  return { turns: Number(row.turns), toolCalls: Number(row.tool_calls), toolErrors: Number(row.tool_errors) };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const sum = <K extends string>(rows: Array<Record<K, number>>, key: K) => rows.reduce((total, row) => total + row[key], 0);

export const toolLoop: Benchmark = {
  name: 'tools',
  measures: 'tool-loop model turns per second by one worker process (emulator and HTTP tool answering at once), and worker time per turn',
  baseline: 'one-shot steps/s and worker time per step, same worker, same invocation',
  async run(ctx) {
    const size = sizes[ctx.size];
    // The tool server listens on loopback, which the address guard refuses unless told, and
    // NODE_ENV=production refuses to be told (in these bundles NODE_ENV decides nothing else).
    const stack = await startStack(ctx, { label: 'tools', paused: true, env: { WEBHOOK_ALLOW_PRIVATE: 'true', NODE_ENV: 'development' } });
    const toolServer = await startInstantToolServer(ctx.scope);
    await stack.startWorkers(1, size.concurrency);

    ctx.log(`warming up with ${size.warmUpRuns} one-shot runs and ${size.warmUpRuns} tool-loop runs`);
    await stack.warmUp(size.warmUpRuns, 1);
    const warmUpPipeline = await toolLoopPipeline(ctx, stack, 'tools warm-up', toolServer.url, size.toolRounds);
    await released(stack, warmUpPipeline, size.warmUpRuns);

    const oneShotPipeline = await stack.pipeline('tools one-shot', 1);
    const toolPipeline = await toolLoopPipeline(ctx, stack, 'tools loop', toolServer.url, size.toolRounds);

    const oneShot = { succeeded: 0, failed: 0, seconds: 0 };
    const loop = { succeeded: 0, failed: 0, seconds: 0 };
    const callsBefore = toolServer.calls();
    const batchSeconds: Array<{ oneShot: number; toolLoop: number }> = [];
    for (let batch = 1; batch <= size.batches; batch++) {
      ctx.log(`batch ${batch}/${size.batches}: ${size.oneShotRuns} one-shot runs, then ${size.toolRuns} runs of ${size.toolRounds} tool rounds and an answer`);
      for (const [totals, pipelineId, runs] of [
        [oneShot, oneShotPipeline, size.oneShotRuns],
        [loop, toolPipeline, size.toolRuns],
      ] as const) {
        const finished = await released(stack, pipelineId, runs * batch);
        // The pipeline's counts are cumulative; the time is this batch's.
        totals.seconds += finished.seconds;
        totals.succeeded = finished.succeeded;
        totals.failed = finished.failed;
      }
      batchSeconds.push({ oneShot: round(oneShot.seconds - sum(batchSeconds, 'oneShot')), toolLoop: round(loop.seconds - sum(batchSeconds, 'toolLoop')) });
    }
    const toolRequests = toolServer.calls() - callsBefore;
    const work = await recorded(stack, toolPipeline);

    const stepsPerSecond = oneShot.succeeded / oneShot.seconds;
    const turnsPerSecond = work.turns / loop.seconds;
    const msPerStep = 1000 / stepsPerSecond;
    const msPerTurn = 1000 / turnsPerSecond;
    const expectedTurns = size.toolRuns * size.batches * (size.toolRounds + 1);
    const failures = {
      ...(oneShot.failed ? { oneShotFailure: await stack.db.sampleFailure(oneShotPipeline) } : {}),
      ...(loop.failed ? { toolLoopFailure: await stack.db.sampleFailure(toolPipeline) } : {}),
    };
    if (loop.failed || work.turns !== expectedTurns || work.toolErrors > 0 || toolRequests !== work.toolCalls) {
      throw new Error(`the tool loop did not run as scripted: ${JSON.stringify({ ...work, expectedTurns, toolRequests, failed: loop.failed, ...failures })}`);
    }

    return {
      figures: [
        { metric: 'tool-loop turns per second, 1 worker', value: turnsPerSecond, unit: 'turns/s', baseline: stepsPerSecond, baselineUnit: 'steps/s', ratio: ratioOf(turnsPerSecond, stepsPerSecond) },
        { metric: 'worker time per tool-loop turn', value: msPerTurn, unit: 'ms/turn', baseline: msPerStep, baselineUnit: 'ms/step', ratio: ratioOf(msPerTurn, msPerStep), target: targets.ratioAtMost(1.5) },
      ],
      details: {
        ...size,
        turnsPerStep: size.toolRounds + 1,
        batchSeconds,
        oneShot: { succeeded: oneShot.succeeded, failed: oneShot.failed, seconds: round(oneShot.seconds), stepsPerSecond: round(stepsPerSecond, 1), msPerStep: round(msPerStep) },
        toolLoop: {
          succeeded: loop.succeeded,
          failed: loop.failed,
          seconds: round(loop.seconds),
          ...work,
          toolRequests,
          turnsPerSecond: round(turnsPerSecond, 1),
          msPerTurn: round(msPerTurn),
          stepsPerSecond: round(loop.succeeded / loop.seconds, 1),
        },
        stepTimingsMs: { oneShot: await stack.db.stepTimings(oneShotPipeline), toolLoop: await stack.db.stepTimings(toolPipeline) },
        ...failures,
      },
    };
  },
};

import { randomBytes } from 'node:crypto';
import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../config.ts';
import { SecretBox } from '../../crypto/secret-box.ts';
import { createDatabase } from '../../db/client.ts';
import { RunEventPublisher } from '../../events/publish.ts';
import { readRunEvents } from '../../events/replay.ts';
import type { RunEvent } from '../../events/types.ts';
import { newId } from '../../ids.ts';
import { createLogger } from '../../logger.ts';
import { createRedis } from '../../queue/connection.ts';
import type { AgentTool } from '../../tools/schema.ts';
import { sealToolSecrets } from '../../tools/secrets.ts';
import { startTestMcpServer, type TestMcpServer, startTestToolServer, type TestToolServer, testConfig, testExecutionDeps } from '../../../testkit/index.ts';
import { executeRun, type ExecutionDeps } from './execution.ts';
import { stepToolsOptions } from './index.ts';

const weatherTool = (url: string): AgentTool => ({
  type: 'http',
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  url,
});
const timeTool = (url: string): AgentTool => ({
  type: 'http',
  name: 'get_time',
  description: 'The time in a zone',
  inputSchema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  url,
});
const scoreSchema = { type: 'object', properties: { score: { type: 'integer', minimum: 1, maximum: 5 }, title: { type: 'string' } }, required: ['score', 'title'], additionalProperties: false };

interface AgentSpec {
  model?: string;
  tools?: AgentTool[];
  outputSchema?: object;
  maxTurns?: number;
}

describe('steps that act: the tool loop and structured output', () => {
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const logger = createLogger({ level: 'silent' });
  const box = new SecretBox(randomBytes(32));
  let emulator: Emulator;
  let tools: TestToolServer;
  let mcp: TestMcpServer;
  let config: Config;

  beforeAll(async () => {
    [emulator, tools, mcp] = await Promise.all([startEmulator(), startTestToolServer(), startTestMcpServer()]);
    config = testConfig({ ...emulator.providerEnv(), PROVIDER_MAX_RETRIES: '0', WEBHOOK_ALLOW_PRIVATE: 'true' });
  });
  afterAll(async () => {
    redis.disconnect();
    await db.$disconnect();
    await Promise.all([emulator?.close(), tools?.close(), mcp?.close()]);
  });
  beforeEach(() => {
    tools.reset();
    mcp.reset();
  });

  const deps = (overrides: Partial<ExecutionDeps> = {}) =>
    testExecutionDeps({ db, redis, config, logger }, { tools: stepToolsOptions(config, { http: { allowPrivate: true, baseDelayMs: 1 }, secrets: box }), ...overrides });

  let lastAgentIds: string[] = [];
  /** A pipeline of one step per agent and a queued run of it. */
  async function createRun(agents: AgentSpec[], prompts: (string | null)[], input: unknown = 'hello') {
    const agentIds: string[] = [];
    for (const spec of agents) {
      const agent = await db.agent.create({
        data: {
          id: newId('agt'),
          name: 'actor',
          model: spec.model ?? 'claude-haiku-4-5',
          tools: sealToolSecrets(spec.tools ?? [], box) as object[],
          ...(spec.outputSchema ? { outputSchema: spec.outputSchema } : {}),
          ...(spec.maxTurns ? { maxTurns: spec.maxTurns } : {}),
        },
      });
      agentIds.push(agent.id);
    }
    const pipeline = await db.pipeline.create({
      data: { id: newId('pip'), name: 'acting', steps: { create: agentIds.map((agentId, index) => ({ index, agentId, prompt: prompts[index] ?? null })) } },
    });
    const run = await db.run.create({
      data: { id: newId('run'), pipelineId: pipeline.id, input: input as object, steps: { create: agentIds.map((agentId, index) => ({ index, agentId })) } },
    });
    lastAgentIds = agentIds;
    return run.id;
  }

  const events = (runId: string) => new RunEventPublisher(redis, config.REDIS_PREFIX, logger).forRun(runId);
  const execute = (runId: string, signal = new AbortController().signal, overrides: Partial<ExecutionDeps> = {}) => executeRun(deps(overrides), runId, events(runId), signal);
  const requestsSince = (count: number) => emulator.requests.slice(count).filter((request) => request.path !== '/v1/messages/count_tokens');
  const stored = (runId: string) =>
    db.run.findUniqueOrThrow({
      where: { id: runId },
      include: { steps: { orderBy: { index: 'asc' }, include: { turns: { orderBy: { turn: 'asc' }, include: { toolCalls: { orderBy: { position: 'asc' } } } } } }, artifact: true },
    });
  const streamOf = async (runId: string): Promise<RunEvent[]> => readRunEvents(redis, config.REDIS_PREFIX, runId);

  async function until(condition: () => boolean, what: string) {
    const deadline = Date.now() + 10_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it.each([
    ['Anthropic', 'claude-haiku-4-5'],
    ['OpenAI', 'gpt-4o'],
  ])('runs the loop with %s: parallel HTTP and MCP calls, results back to the model, every turn and call recorded, usage and cost summed', async (_, model) => {
    const runId = await createRun(
      [{ model, tools: [weatherTool(tools.url('weather')), { type: 'mcp', url: mcp.url, allowedTools: ['add'] }] }],
      ['Plan {{input}} [[emulator:tool=get_weather {"city":"Paris"}]] [[emulator:tool=add {"a":2,"b":3}]]'],
    );
    const before = emulator.requests.length;

    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

    const requests = requestsSince(before);
    expect(requests).toHaveLength(2);
    const offered = JSON.stringify(requests[0]!.body.tools);
    expect(offered).toContain('get_weather');
    expect(offered).toContain('add');
    expect(offered).not.toContain('drop_tables');
    // The second turn carries both results.
    const secondTurn = JSON.stringify(requests[1]!.body.messages);
    expect(secondTurn).toContain('Paris');
    expect(secondTurn).toContain('5');

    expect(tools.requests).toHaveLength(1);
    expect(tools.requests[0]).toMatchObject({ runId, stepIndex: 0, name: 'get_weather', input: { city: 'Paris' } });
    expect(mcp.calls).toEqual([{ name: 'add', args: { a: 2, b: 3 } }]);

    const run = await stored(runId);
    const step = run.steps[0]!;
    expect(step.turns.map((turn) => turn.toolCalls.map((call) => [call.name, call.isError]))).toEqual([
      [
        ['get_weather', false],
        ['add', false],
      ],
      [],
    ]);
    expect(step.turns[0]!.toolCalls[0]!.outputJson).toEqual({ tool: 'get_weather', input: { city: 'Paris' } });
    expect(step.turns[0]!.toolCalls[1]!.output).toBe('5');
    expect(step.output).toContain('result');
    expect(step.inputTokens).toBe(step.turns.reduce((sum, turn) => sum + turn.inputTokens, 0));
    expect(step.outputTokens).toBe(step.turns.reduce((sum, turn) => sum + turn.outputTokens, 0));
    expect(step.cost!.toFixed()).toBe(step.turns.reduce((sum, turn) => sum.plus(turn.cost!), step.turns[0]!.cost!.minus(step.turns[0]!.cost!)).toFixed());
    expect(run.cost!.toFixed()).toBe(step.cost!.toFixed());

    const stream = await streamOf(runId);
    const calls = stream.filter((event) => event.type === 'step.tool_call').map((event) => event.data);
    const results = stream.filter((event) => event.type === 'step.tool_result').map((event) => event.data);
    expect(calls).toEqual(
      expect.arrayContaining([
        { index: 0, turn: 1, toolCallId: step.turns[0]!.toolCalls[0]!.toolCallId, name: 'get_weather', input: { city: 'Paris' } },
        { index: 0, turn: 1, toolCallId: step.turns[0]!.toolCalls[1]!.toolCallId, name: 'add', input: { a: 2, b: 3 } },
      ]),
    );
    expect(results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ turn: 1, output: { tool: 'get_weather', input: { city: 'Paris' } }, isError: false }),
        expect.objectContaining({ turn: 1, output: '5', isError: false }),
      ]),
    );
  });

  it('gives the model an error result when a tool keeps failing or its address is refused, and goes on', async () => {
    tools.fail('get_weather', 500, 500, 500);
    const runId = await createRun(
      [{ tools: [weatherTool(tools.url('weather')), timeTool('http://10.0.0.1/time')] }],
      ['[[emulator:tool=get_weather {"city":"Oslo"}]] [[emulator:tool=get_time {"zone":"CET"}]]'],
    );
    const before = emulator.requests.length;

    expect(await execute(runId, undefined, { tools: stepToolsOptions(config, { http: { allowPrivate: false, baseDelayMs: 1 }, secrets: box }) })).toMatchObject({ status: 'succeeded' });

    // The guard refused both: the loopback tool server too, as WEBHOOK_ALLOW_PRIVATE is off for this run.
    expect(tools.requests).toHaveLength(0);
    const calls = (await stored(runId)).steps[0]!.turns[0]!.toolCalls;
    expect(calls.map((call) => call.isError)).toEqual([true, true]);
    expect(calls[1]!.output).toMatch(/refused/);
    expect(JSON.stringify(requestsSince(before)[1]!.body.messages)).toMatch(/refused/);
  });

  it('retries a failing HTTP tool with the same toolCallId and webhook-id, then gives the error to the model', async () => {
    tools.fail('get_weather', 503, 503, 503);
    const runId = await createRun([{ tools: [weatherTool(tools.url('weather'))] }], ['[[emulator:tool=get_weather {"city":"Oslo"}]]']);

    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

    expect(tools.requests).toHaveLength(3);
    expect(new Set(tools.requests.map((request) => request.toolCallId)).size).toBe(1);
    expect(new Set(tools.requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    const call = (await stored(runId)).steps[0]!.turns[0]!.toolCalls[0]!;
    expect(call).toMatchObject({ isError: true });
    expect(call.output).toMatch(/HTTP 503/);
  });

  it('fails the step with max_turns when the model still asks for tools on its last allowed turn, keeping what the turns cost', async () => {
    const runId = await createRun(
      [{ tools: [weatherTool(tools.url('weather'))], maxTurns: 2 }],
      ['[[emulator:tool=get_weather {"city":"A"}]] [[emulator:tool@2=get_weather {"city":"B"}]]'],
    );

    expect(await execute(runId)).toMatchObject({ status: 'failed', error: { code: 'max_turns', step: 0 } });

    // The first turn's call ran; the second turn's was not run.
    expect(tools.requests.map((request) => request.input)).toEqual([{ city: 'A' }]);
    const run = await stored(runId);
    expect(run.steps[0]!.turns).toHaveLength(2);
    expect(run.steps[0]!.status).toBe('failed');
    expect(run.steps[0]!.inputTokens).toBe(run.steps[0]!.turns[0]!.inputTokens + run.steps[0]!.turns[1]!.inputTokens);
    expect(run.cost!.toFixed()).toBe(run.steps[0]!.turns[0]!.cost!.plus(run.steps[0]!.turns[1]!.cost!).toFixed());
  });

  it('resumes after the worker gives the run up mid-turn: no finished model turn requested again, no finished tool call run again', async () => {
    const runId = await createRun(
      [{ tools: [weatherTool(tools.url('weather')), timeTool(tools.url('time'))] }],
      ['[[emulator:tool=get_weather {"city":"Rome"}]] [[emulator:tool=get_time {"zone":"CET"}]]'],
    );
    const before = emulator.requests.length;
    const held = tools.hold('get_time');
    const shutdown = new AbortController();
    const first = execute(runId, shutdown.signal);
    await held;
    // get_weather finished and was recorded; get_time is in flight.
    await until(() => tools.requests.some((request) => request.name === 'get_weather'), 'the weather call');
    const weatherRecorded = async () => (await db.runToolCall.count({ where: { runId, name: 'get_weather' } })) === 1;
    const deadline = Date.now() + 10_000;
    while (!(await weatherRecorded()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    shutdown.abort('shutdown');
    await expect(first).rejects.toMatchObject({ name: 'RunInterruptedError' });
    tools.release();
    expect(requestsSince(before)).toHaveLength(1);

    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

    // Turn 1 was not requested again: one more request, for turn 2.
    expect(requestsSince(before)).toHaveLength(2);
    const weather = tools.requests.filter((request) => request.name === 'get_weather');
    const time = tools.requests.filter((request) => request.name === 'get_time');
    expect(weather).toHaveLength(1);
    // The unfinished call ran again, with the same toolCallId (so the receiver can deduplicate it).
    expect(time).toHaveLength(2);
    expect(time[1]!.toolCallId).toBe(time[0]!.toolCallId);
    const run = await stored(runId);
    expect(run.steps[0]!.turns.map((turn) => turn.toolCalls.length)).toEqual([2, 0]);
    expect(run.steps[0]!.inputTokens).toBe(run.steps[0]!.turns.reduce((sum, turn) => sum + turn.inputTokens, 0));
  });

  it('cancel aborts the tool call in flight and ends the run canceled', async () => {
    const runId = await createRun([{ tools: [weatherTool(tools.url('weather'))] }], ['[[emulator:tool=get_weather {"city":"Kyiv"}]]']);
    const held = tools.hold('get_weather');
    const cancel = new AbortController();
    const outcome = execute(runId, cancel.signal);
    await held;
    await db.run.update({ where: { id: runId }, data: { cancelRequested: true } });
    cancel.abort('canceled');

    expect(await outcome).toMatchObject({ status: 'canceled' });
    await until(() => tools.abandoned === 1, 'the aborted tool request');
    const run = await stored(runId);
    expect(run.status).toBe('canceled');
    expect(run.steps[0]!.turns[0]!.toolCalls).toHaveLength(0);
    expect(run.cost!.toFixed()).toBe(run.steps[0]!.turns[0]!.cost!.toFixed());
  });

  it("the run's maximum duration covers the loop: a tool that never answers ends the run failed/timeout", async () => {
    const runId = await createRun([{ tools: [weatherTool(tools.url('weather'))] }], ['[[emulator:tool=get_weather {"city":"Lima"}]]']);
    const held = tools.hold('get_weather');
    const outcome = execute(runId, undefined, { maxDurationSeconds: 1 });
    await held;

    expect(await outcome).toMatchObject({ status: 'failed', error: { code: 'timeout', step: 0 } });
    tools.release();
  });

  it('sends stored MCP headers opened, and offers only the allowed tools', async () => {
    const runId = await createRun(
      [{ tools: [{ type: 'mcp', url: mcp.url, allowedTools: ['lookup'], headers: { authorization: 'Bearer mcp-secret' } }] }],
      ['[[emulator:tool=lookup {"q":"orders"}]]'],
    );
    const agent = await db.agent.findUniqueOrThrow({ where: { id: lastAgentIds[0]! } });
    expect(JSON.stringify(agent.tools)).not.toContain('mcp-secret');
    const before = emulator.requests.length;

    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

    expect(mcp.authorizations.every((value) => value === 'Bearer mcp-secret')).toBe(true);
    expect(mcp.calls).toEqual([{ name: 'lookup', args: { q: 'orders' } }]);
    const offered = (requestsSince(before)[0]!.body.tools as { name: string }[]).map((tool) => tool.name);
    expect(offered).toEqual(['lookup']);
  });

  it('runs a mixed-provider pipeline where both steps call tools', async () => {
    const runId = await createRun(
      [
        { model: 'claude-haiku-4-5', tools: [weatherTool(tools.url('weather'))] },
        { model: 'gpt-4o', tools: [timeTool(tools.url('time'))] },
      ],
      ['[[emulator:tool=get_weather {"city":"Nice"}]]', 'Then {{previous}} [[emulator:tool=get_time {"zone":"UTC"}]]'],
    );
    const before = emulator.requests.length;

    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

    expect(requestsSince(before).map((request) => request.provider)).toEqual(['anthropic', 'anthropic', 'openai', 'openai']);
    expect(tools.requests.map((request) => [request.stepIndex, request.name])).toEqual([
      [0, 'get_weather'],
      [1, 'get_time'],
    ]);
    const run = await stored(runId);
    expect(run.steps.map((step) => step.turns.length)).toEqual([2, 2]);
  });

  describe('structured output', () => {
    it("makes a valid answer the step's JSON output, stored as JSON in the run, the artifact and the events, and reachable by the next step's template", async () => {
      const runId = await createRun([{ outputSchema: scoreSchema }, {}], [null, 'Score was {{previous.score}}; title {{steps.0.output.title}}; all {{previous}}']);
      const before = emulator.requests.length;

      expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

      const run = await stored(runId);
      const value = JSON.parse(run.steps[0]!.output!);
      expect(value).toEqual({ score: expect.any(Number), title: expect.any(String) });
      expect(run.steps[0]!.structured).toBe(true);
      const data = run.artifact!.artifactData as { steps: { output: unknown }[] };
      expect(data.steps[0]!.output).toEqual(value);
      const secondPrompt = JSON.stringify(requestsSince(before)[1]!.body.messages);
      expect(secondPrompt).toContain(`Score was ${value.score}; title ${value.title}`);
      expect(secondPrompt).toContain(JSON.stringify(JSON.stringify(value, null, 2)).slice(1, -1));
      const completed = (await streamOf(runId)).find((event) => event.type === 'step.completed' && (event.data as { index: number }).index === 0)!;
      expect((completed.data as { output: unknown }).output).toEqual(value);
    });

    it('makes the run output the JSON value when the last step is structured', async () => {
      const runId = await createRun([{ outputSchema: scoreSchema, model: 'gpt-4o' }], [null]);
      expect(await execute(runId)).toMatchObject({ status: 'succeeded' });
      const run = await stored(runId);
      expect(run.output).toEqual({ score: expect.any(Number), title: expect.any(String) });
      expect((run.artifact!.artifactData as { output: unknown }).output).toEqual(run.output);
    });

    it('repairs an invalid answer with one more turn that names the errors', async () => {
      const runId = await createRun([{ outputSchema: scoreSchema, model: 'gpt-4o' }], ['Rate it [[emulator:invalid-output=1]]']);
      const before = emulator.requests.length;

      expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

      const requests = requestsSince(before);
      expect(requests).toHaveLength(2);
      expect(JSON.stringify(requests[1]!.body.messages)).toContain('does not match the required JSON Schema');
      const run = await stored(runId);
      expect(run.steps[0]!.turns).toHaveLength(2);
      expect(JSON.parse(run.steps[0]!.output!)).toMatchObject({ score: expect.any(Number) });
    });

    it('fails the step with invalid_output and the validation errors when the repaired answer is still invalid', async () => {
      const runId = await createRun([{ outputSchema: scoreSchema }], ['Rate it [[emulator:invalid-output]]']);
      const before = emulator.requests.length;

      const outcome = await execute(runId);

      expect(outcome).toMatchObject({ status: 'failed', error: { code: 'invalid_output', step: 0, validationErrors: expect.arrayContaining([expect.any(String)]) } });
      expect(requestsSince(before)).toHaveLength(2);
      const run = await stored(runId);
      expect(run.error).toMatchObject({ code: 'invalid_output' });
      expect(run.steps[0]!.turns).toHaveLength(2);
    });
  });
});

/**
 * Baseline for the capacity benchmark: what reading the streams costs with nothing else to do, the
 * way a user would write it by hand: a loop of the Anthropic SDK's `messages.create({ stream: true })`
 * per stream, reading every event, with the SDK's own defaults (its `fetch`), kept at STREAMS streams.
 * Each call's answer is scripted on the emulator (CALL_SECONDS, TOKENS_PER_SECOND), as the
 * benchmark scripts the worker's.
 * Env: EMULATOR_URL, STREAMS, CALL_SECONDS ("8,30"), TOKENS_PER_SECOND, RAMP_MS, HOLD_MS.
 * Prints `holding` once the streams are open, then one JSON line with its event-loop delay over the hold.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Anthropic from '@anthropic-ai/sdk';
import { scriptStreamingAnswers } from '../harness/emulator-admin.ts';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const emulatorUrl = env('EMULATOR_URL');
const streams = Number(env('STREAMS'));
const callSeconds = env('CALL_SECONDS').split(',').map(Number) as [number, number];
const tokensPerSecond = Number(env('TOKENS_PER_SECOND'));
const rampMs = Number(env('RAMP_MS'));
const holdMs = Number(env('HOLD_MS'));
/** The same resolution as the worker's monitor (prom-client's), subtracted the same way. */
const RESOLUTION_MS = 10;
/** Answers scripted per request to the emulator's admin API. */
const SCRIPT_BATCH = 100;

const client = new Anthropic({ apiKey: 'bench-anthropic-key', baseURL: emulatorUrl, maxRetries: 0 });
let scripted = 0;
let scripting: Promise<void> | undefined;

async function scriptAnswers(): Promise<void> {
  await scriptStreamingAnswers(emulatorUrl, SCRIPT_BATCH, callSeconds, tokensPerSecond);
  scripted += SCRIPT_BATCH;
}

async function nextAnswerScripted(): Promise<void> {
  while (scripted === 0) await (scripting ??= scriptAnswers().finally(() => (scripting = undefined)));
  scripted--;
}

let running = true;
async function stream(): Promise<void> {
  while (running) {
    await nextAnswerScripted();
    const events = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 4096, messages: [{ role: 'user', content: 'Write.' }], stream: true });
    for await (const event of events) void event;
  }
}

for (let i = 0; i < streams; i++) {
  void stream().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
  await new Promise((resolve) => setTimeout(resolve, rampMs / streams));
}
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
await new Promise((resolve) => setTimeout(resolve, 1000));
delay.enable();
process.stdout.write('holding\n');
await new Promise((resolve) => setTimeout(resolve, holdMs));
delay.disable();
const beyondResolution = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
process.stdout.write(`${JSON.stringify({ delayP99Ms: beyondResolution(delay.percentile(99)), delayMaxMs: beyondResolution(delay.max), rssMiB: process.memoryUsage.rss() / 2 ** 20 })}\n`);
running = false;
process.exit(0);

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { testPrefix } from '@conveyor/core/testing';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './stack.ts';

interface DemoResult {
  code: number | null;
  output: string;
}

/** `npm run demo`'s script, non-interactively, on the test servers, with no provider keys. */
function runDemo(prefix: string): Promise<DemoResult> {
  // A database of its own: workers re-enqueue every unfinished run of their database.
  const database = new URL(process.env.DATABASE_URL!);
  database.pathname = `${database.pathname}_demo`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_DATABASE_URL: database.toString(),
    DEMO_REDIS_PREFIX: prefix,
    DEMO_LOG_DIR: join(repoRoot, 'test-output', 'demo'),
    CI: 'true',
  };
  for (const name of ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL', 'DEMO_PORT', 'DEMO_KEEP']) {
    delete env[name];
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/demo.sh'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

const apiUrlIn = (output: string) => /API at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];

describe('npm run demo', () => {
  it('runs the pipeline end to end: streamed text, cost, verified webhook, then stops what it started', async () => {
    const prefix = testPrefix('demo');
    const first = await runDemo(prefix);
    expect(first.code, first.output).toBe(0);
    const output = first.output;

    expect(output).toContain('anthropic: the LLM emulator');
    expect(output).toContain('▶ step 1 · anthropic · claude-haiku-4-5');
    // The emulated Claude reply, streamed in as the step ran.
    expect(output).toContain('Conveyor turns your AI agents into dependable background jobs.');
    expect(output).toMatch(/✓ step 1 done · \d+ in \+ \d+ out tokens · \$\d+\.\d+/);
    expect(output).toContain('▶ step 2 · openai · gpt-4.1-mini');
    expect(output).toMatch(/total cost \$0\.\d+ USD · \d+ in \+ \d+ out tokens · models claude-haiku-4-5, gpt-4\.1-mini/);
    expect(output).toContain('Ship AI agent pipelines like background jobs');
    // The writer called the demo's own HTTP tool; the editor answered with structured output.
    expect(output).toContain('→ step 1 turn 1: product_facts {"product":"Conveyor"}');
    expect(output).toMatch(/← step 1 turn 1: \{"product":"Conveyor",.*\(\d+ ms\)/);
    expect(output).toContain('"hashtags"');
    expect(output).toMatch(/Webhook run\.succeeded for run \S+ received; signature verified \(webhook-id \S+\)/);
    expect(output).toMatch(/console {4}http:\/\/127\.0\.0\.1:\d+\/artifacts\/\S+/);
    expect(output).toMatch(/queues {5}http:\/\/127\.0\.0\.1:\d+\/admin\/queues/);
    expect(output).toMatch(/API docs {3}http:\/\/127\.0\.0\.1:\d+\/docs/);
    expect(output).toContain('stopped.');

    const apiUrl = apiUrlIn(output);
    expect(apiUrl).toBeDefined();
    await expect(fetch(`${apiUrl}/healthz`)).rejects.toThrow();

    const second = await runDemo(prefix);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('(reused from an earlier demo)');
    expect(second.output).toContain('signature verified');
  }, 300_000);
});

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freePort } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { describe, expect, it, onTestFinished } from 'vitest';
import { repoRoot } from './stack.ts';

interface Block {
  line: number;
  code: string;
  /** The reason given in `<!-- readme-test: skip: reason -->` right above the block. */
  skip: string | null;
}

/** The README's fenced `sh` blocks, in order, with their skip marks. */
export function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const pattern = /(?:<!-- readme-test: skip: ([^>]*?) -->\n)?```sh\n([\s\S]*?)```/g;
  for (const match of markdown.matchAll(pattern)) {
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length + (match[1] ? 1 : 0), code: match[2]!, skip: match[1] ?? null });
  }
  return blocks;
}

const readme = readFileSync(`${repoRoot}README.md`, 'utf8');
const blocks = shellBlocks(readme);

/** The test database, renamed for this file: the commands migrate it and create their own agents. */
const databaseUrl = (() => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_readme`;
  return url.toString();
})();

describe('README commands', () => {
  it('marks every shell block it does not run, with a reason', () => {
    expect(blocks.length).toBeGreaterThan(3);
    for (const block of blocks.filter((b) => b.skip !== null)) expect(block.skip!.length, `README line ${block.line}`).toBeGreaterThan(5);
    expect(readme.match(/^```(sh|bash|shell)\b/gm)?.length).toBe(blocks.length);
  });

  it('runs "Running it yourself" as written, to a succeeded run on the LLM emulator', { timeout: 120_000 }, async () => {
    const runnable = blocks.filter((block) => block.skip === null);
    expect(runnable.length).toBeGreaterThanOrEqual(2);
    const [apiPort, emulatorPort] = [await freePort(), await freePort()];
    // One shell, so `export`s and background processes carry from block to block, as in a terminal.
    const script = ['set -euo pipefail', ...runnable.map((block) => `# README line ${block.line}\n${block.code}`)].join('\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // Where the commands run here: this test's database, Redis prefix and free ports, nothing else.
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: testPrefix('readme'),
      PORT: String(apiPort),
      EMULATOR_PORT: String(emulatorPort),
      CONVEYOR_URL: `http://127.0.0.1:${apiPort}`,
      RECONCILE_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      NO_COLOR: '1',
    };
    for (const name of ['API_TOKENS', 'CONVEYOR_TOKEN', 'ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_BASE_URL', 'OPENAI_BASE_URL', 'ENCRYPTION_KEY']) delete env[name];
    await resetDatabase();

    // Its own process group: the background processes the commands start end with it.
    const shell = spawn('bash', ['-c', script], { cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    // Also when the test fails or times out: the API, worker and emulator it started must not outlive it.
    onTestFinished(() => {
      try {
        process.kill(-shell.pid!, 'SIGTERM');
      } catch {
        // the group is gone already
      }
    });
    let output = '';
    shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => shell.on('exit', resolve));

    expect(code, output).toBe(0);
    expect(output).toMatch(/▶ step 1 · anthropic · claude-sonnet-4-5/);
    expect(output).toMatch(/✔ run succeeded · \d+ in \+ \d+ out tokens · total \$\d/);
  });
});

/** A fresh database for the commands (created and migrated by `npm run db:migrate` if missing). */
async function resetDatabase(): Promise<void> {
  const { default: pg } = await import('pg');
  const admin = new URL(databaseUrl);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

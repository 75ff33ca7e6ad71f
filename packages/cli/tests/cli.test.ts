import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.ts';
import { repoRoot, type Stack, startStack, TOKEN } from './stack.ts';

let stack: Stack;
const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-test-'));
const suffix = Math.random().toString(36).slice(2, 8);

beforeAll(async () => {
  stack = await startStack();
}, 150_000);

afterAll(async () => {
  await stack?.stop();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** One CLI invocation in process, against the stack's API. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { CONVEYOR_URL: stack.apiUrl, CONVEYOR_TOKEN: TOKEN, ...env },
  });
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const oneLineError = (result: Result) => {
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^error: /);
};

describe('conveyor CLI against a running API', () => {
  let writerId: string;
  let pipelineId: string;
  let artifactId: string;

  it('creates an agent from a YAML file and lists and shows it', async () => {
    const path = file('writer.yaml', `name: cli writer ${suffix}\nmodel: claude-haiku-4-5\nsystemPrompt: Be brief.\nmaxTokens: 200\n`);
    const created = await cli(['agents', 'create', '-f', path]);
    expect(created.code).toBe(0);
    const match = /^created agent (\S+) {2}cli writer \S+ \(claude-haiku-4-5\)$/m.exec(created.stdout);
    expect(match).not.toBeNull();
    writerId = match![1]!;

    const list = await cli(['agents', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${writerId}\\s+cli writer ${suffix}\\s+claude-haiku-4-5`, 'm'));

    const shown = await cli(['agents', 'show', writerId, '--json']);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: writerId, model: 'claude-haiku-4-5', systemPrompt: 'Be brief.', maxTokens: 200 });
  });

  it('creates agents from a JSON array, printing JSON with --json', async () => {
    const path = file('agents.json', JSON.stringify([{ name: `cli editor ${suffix}`, model: 'gpt-4.1-mini' }]));
    const result = await cli(['agents', 'create', '-f', path, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ name: `cli editor ${suffix}`, model: 'gpt-4.1-mini' });
  });

  it('reports a definition the API rejects as one line and exit code 1', async () => {
    const result = await cli(['agents', 'create', '-f', file('bad-model.yaml', `name: bad ${suffix}\nmodel: no-such-model\n`)]);
    expect(result.code).toBe(1);
    oneLineError(result);
    expect(result.stderr).toMatch(/^error: validation_error: /);
  });

  it('names a missing or unparsable file and why, with exit code 2', async () => {
    const missing = await cli(['agents', 'create', '-f', join(dir, 'nope.yaml')]);
    expect(missing).toMatchObject({ code: 2, stderr: `error: ${join(dir, 'nope.yaml')}: no such file\n` });

    const broken = file('broken.yaml', 'name: [oops\n');
    const invalid = await cli(['pipelines', 'create', '-f', broken]);
    expect(invalid.code).toBe(2);
    oneLineError(invalid);
    expect(invalid.stderr).toContain(`${broken}: not valid YAML`);
  });

  it('creates a pipeline whose steps name agents, and lists and shows it', async () => {
    const path = file(
      'pipeline.yaml',
      [
        `name: cli pipeline ${suffix}`,
        'steps:',
        `  - agent: cli writer ${suffix}`,
        '    prompt: "Write about {{input}}"',
        `  - agent: cli editor ${suffix}`,
      ].join('\n'),
    );
    const created = await cli(['pipelines', 'create', '-f', path, '--json']);
    expect(created.code).toBe(0);
    const pipeline = JSON.parse(created.stdout) as { id: string; steps: { agentId: string; prompt: string | null }[] };
    pipelineId = pipeline.id;
    expect(pipeline.steps[0]).toMatchObject({ agentId: writerId, prompt: 'Write about {{input}}' });

    const list = await cli(['pipelines', 'list']);
    expect(list.stdout).toMatch(new RegExp(`^${pipelineId}\\s+cli pipeline ${suffix}\\s+2\\s+ok`, 'm'));
    const shown = await cli(['pipelines', 'show', pipelineId]);
    expect(shown.stdout).toContain(`step 1  agent ${writerId}  prompt: Write about {{input}}`);
  });

  it('refuses a pipeline step that names an unknown agent with exit code 3', async () => {
    const path = file('orphan.yaml', `name: orphan ${suffix}\nsteps:\n  - agent: nobody ${suffix}\n`);
    const result = await cli(['pipelines', 'create', '-f', path]);
    expect(result).toMatchObject({ code: 3, stderr: `error: ${path}: step 1: no agent named 'nobody ${suffix}'\n` });
  });

  it('submits a run and follows it: steps, streamed text, tokens, cost and the final status', async () => {
    const result = await cli(['runs', 'submit', pipelineId, '--input', 'otters', '--follow']);
    expect(result.code, result.stderr + stack.logs()).toBe(0);
    expect(result.stdout).toMatch(/^run \S+ queued$/m);
    expect(result.stdout).toContain('▶ step 1 · anthropic · claude-haiku-4-5');
    expect(result.stdout).toContain('Reply from claude-haiku-4-5: Write about otters');
    expect(result.stdout).toMatch(/✓ step 1 done · \d+ in \+ \d+ out tokens · \$\d+\.\d+/);
    expect(result.stdout).toContain('▶ step 2 · openai · gpt-4.1-mini');
    const done = /✔ run succeeded · \d+ in \+ \d+ out tokens · total \$\d+\.\d+ · artifact (\S+)/.exec(result.stdout);
    expect(done).not.toBeNull();
    artifactId = done![1]!;
    expect(result.stdout).toContain(`output: conveyor artifacts output ${artifactId}`);
  });

  it('shows the run, lists its artifact and prints the artifact output', async () => {
    const runs = await cli(['runs', 'list', '--pipeline', pipelineId, '--json']);
    const [run] = JSON.parse(runs.stdout) as { id: string; status: string }[];
    expect(run).toMatchObject({ status: 'succeeded' });

    const shown = await cli(['runs', 'show', run!.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^run ${run!.id}  succeeded  pipeline ${pipelineId}`, 'm'));
    expect(shown.stdout).toContain(`artifact ${artifactId}`);

    const artifacts = await cli(['artifacts', 'list', '--pipeline', pipelineId]);
    expect(artifacts.stdout).toMatch(new RegExp(`^${artifactId}\\s+cli pipeline ${suffix}\\s+\\$\\d`, 'm'));

    const details = await cli(['artifacts', 'show', artifactId]);
    expect(details.stdout).toMatch(/cost \$\d+\.\d+ USD/);
    expect(details.stdout).toContain('models claude-haiku-4-5, gpt-4.1-mini');

    const output = await cli(['artifacts', 'output', artifactId]);
    expect(output).toMatchObject({ code: 0, stderr: '' });
    expect(output.stdout).toMatch(/^Reply from gpt-4\.1-mini: Reply from claude-haiku-4-5: Write about otters\n$/);
  });

  it('prints spend by pipeline over the last day, with the run\'s cost, and refuses a bad range', async () => {
    const runs = JSON.parse((await cli(['runs', 'list', '--pipeline', pipelineId, '--json'])).stdout) as { cost: string }[];
    const result = await cli(['spend', '--days', '1', '--by', 'pipeline', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { groups: { pipelineId: string; cost: string; steps: number }[] };
    expect(report.groups.find((g) => g.pipelineId === pipelineId)).toMatchObject({ cost: runs[0]!.cost, steps: 2 });

    const text = await cli(['spend', '--by', 'pipeline']);
    expect(text.stdout).toMatch(new RegExp(`^cli pipeline ${suffix}\\s+\\$${runs[0]!.cost.replace('.', '\\.')}\\s`, 'm'));
    expect(text.stdout).toMatch(/^total\s+\$\d+\.\d+/m);

    const reversed = await cli(['spend', '--from', '2026-02-01T00:00:00Z', '--to', '2026-01-01T00:00:00Z']);
    expect(reversed).toMatchObject({ code: 1 });
    expect(reversed.stderr).toContain('from must be before to');
    expect(await cli(['spend', '--days', '0'])).toMatchObject({ code: 2 });
    expect(await cli(['spend', '--days', '3', '--from', '2026-01-01T00:00:00Z'])).toMatchObject({ code: 2 });
  });

  it('returns the first run for a repeated idempotency key', async () => {
    const submit = () => cli(['runs', 'submit', pipelineId, '--input', 'once', '--idempotency-key', `key-${suffix}`, '--json']);
    const first = JSON.parse((await submit()).stdout) as { id: string };
    const second = JSON.parse((await submit()).stdout) as { id: string };
    expect(second.id).toBe(first.id);
    expect((await cli(['runs', 'follow', first.id])).code).toBe(0);
  });

  it('exits 5 when a followed run fails, with the reason', async () => {
    stack.emulator.script({ provider: 'anthropic', status: 400, message: 'prompt rejected by the test' });
    const result = await cli(['runs', 'submit', pipelineId, '--input', 'doomed', '--follow']);
    expect(result.code).toBe(5);
    expect(result.stdout).toMatch(/✘ run failed at step 1: provider_error: .*prompt rejected by the test/);
  });

  it('submits a run with a budget it cannot afford: it fails budget_exceeded and runs show names the budget', async () => {
    const result = await cli(['runs', 'submit', pipelineId, '--input', 'too dear', '--max-cost-usd', '0.000000000001', '--follow']);
    expect(result.code).toBe(5);
    expect(result.stdout).toMatch(/✘ run failed at step 1: budget_exceeded: /);
    const runId = /run (run_\w+)/.exec(result.stdout)![1]!;
    const shown = await cli(['runs', 'show', runId]);
    expect(shown.stdout).toContain('budget $0.000000000001\n');
    expect((await cli(['runs', 'submit', pipelineId, '--input', 'x', '--max-cost-usd', 'ten'])).code).toBe(1);
  });

  it('follows as NDJSON with --json', async () => {
    const result = await cli(['runs', 'submit', pipelineId, '--input', 'lines', '--follow', '--json']);
    expect(result.code).toBe(0);
    const types = result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { type: string }).type);
    expect(types[0]).toBe('run.started');
    expect(types).toContain('step.delta');
    expect(types.at(-1)).toBe('run.succeeded');
  });

  it('cancels a running run, which then spent $0, and refuses to cancel it twice', async () => {
    const submitted = await cli(['runs', 'submit', pipelineId, '--input', 'slow [[emulator:latency=60000]]', '--json']);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    const canceled = await cli(['runs', 'cancel', id]);
    expect(canceled.code, canceled.stderr).toBe(0);
    expect(canceled.stdout).toMatch(new RegExp(`^run ${id} (canceled|queued|running)`));
    expect((await cli(['runs', 'follow', id])).code).toBe(5);

    const shown = await cli(['runs', 'show', id]);
    expect(shown.stdout).toMatch(new RegExp(`^run ${id}  canceled`, 'm'));
    expect(shown.stdout).toContain('total 0 in + 0 out tokens · $0\n');
    expect(shown.stdout).not.toContain('cost unknown');

    const again = await cli(['runs', 'cancel', id]);
    expect(again.code).toBe(1);
    oneLineError(again);
  });

  it('lists runs with their pipeline names', async () => {
    const list = await cli(['runs', 'list', '--pipeline', pipelineId]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^run_\\S+\\s+succeeded\\s+cli pipeline ${suffix}\\s+\\$\\d`, 'm'));
    expect(list.stdout).not.toContain(pipelineId);
  });

  it('creates, shows, lists, disables, enables and deletes a schedule', async () => {
    const created = await cli(['schedules', 'create', pipelineId, '--cron', '0 9 * * 1-5', '--timezone', 'Europe/Paris', '--input', 'report', '--disabled']);
    expect(created.code, created.stderr).toBe(0);
    const id = /^created schedule (\S+) {2}0 9 \* \* 1-5 \(Europe\/Paris\) {2}next run -$/m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await cli(['schedules', 'enable', id!])).stdout).toMatch(new RegExp(`^schedule ${id} enabled, next run \\d{4}-`));
    const shown = await cli(['schedules', 'show', id!]);
    expect(shown.stdout.match(/^next /gm)).toHaveLength(5);
    expect((await cli(['schedules', 'list', '--pipeline', pipelineId])).stdout).toMatch(new RegExp(`^${id}\\s+${pipelineId}\\s+0 9 \\* \\* 1-5\\s+Europe/Paris\\s+enabled`, 'm'));
    expect((await cli(['schedules', 'disable', id!])).stdout).toBe(`schedule ${id} disabled\n`);
    expect((await cli(['schedules', 'delete', id!])).stdout).toBe(`schedule ${id} deleted\n`);
    expect((await cli(['schedules', 'show', id!])).code).toBe(3);
    const bad = await cli(['schedules', 'create', pipelineId, '--cron', '* * *', '--input', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('needs 5 fields');
  });

  it('submits a delayed run, shown with when it is due, and cancels it before then', async () => {
    const submitted = await cli(['runs', 'submit', pipelineId, '--input', 'later', '--delay', '3600']);
    expect(submitted.code, submitted.stderr).toBe(0);
    const match = /^run (\S+) queued \(scheduled for (\S+)\)$/m.exec(submitted.stdout);
    expect(match).not.toBeNull();
    expect(Date.parse(match![2]!)).toBeGreaterThan(Date.now() + 3500_000);
    expect((await cli(['runs', 'show', match![1]!])).stdout).toContain(`scheduled for ${match![2]}\n`);
    expect((await cli(['runs', 'cancel', match![1]!])).stdout).toBe(`run ${match![1]} canceled\n`);
    expect(await cli(['runs', 'submit', pipelineId, '--input', 'x', '--at', '2030-01-01T00:00:00Z', '--delay', '5'])).toMatchObject({ code: 2 });
  });

  it('creates a pipeline with an approval step, approves one run with an edited output, rejects another, and branches', async () => {
    const path = file(
      'reviewed.yaml',
      [
        `name: cli reviewed ${suffix}`,
        'steps:',
        `  - agent: cli writer ${suffix}`,
        '  - type: approval',
        '    instructions: Check the draft',
        `  - agent: cli editor ${suffix}`,
        '    prompt: "Polish: {{previous}}"',
      ].join('\n'),
    );
    const created = await cli(['pipelines', 'create', '-f', path, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const reviewed = (JSON.parse(created.stdout) as { id: string }).id;
    expect((await cli(['pipelines', 'show', reviewed])).stdout).toContain('step 2  approval  instructions: Check the draft\n');

    const waitingRun = async (input: string) => {
      const { id } = JSON.parse((await cli(['runs', 'submit', reviewed, '--input', input, '--json'])).stdout) as { id: string };
      await expect.poll(async () => (JSON.parse((await cli(['runs', 'show', id, '--json'])).stdout) as { status: string }).status, { timeout: 60_000 }).toBe('waiting');
      return id;
    };

    const approvedId = await waitingRun('tides');
    expect((await cli(['runs', 'show', approvedId])).stdout).toContain(`waiting at step 2 since `);
    const approved = await cli(['runs', 'approve', approvedId, '--comment', 'fine', '--output', 'the edited draft']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^run ${approvedId} approved: (running|queued|succeeded)\n$`));
    expect((await cli(['runs', 'follow', approvedId])).code).toBe(0);
    const finished = JSON.parse((await cli(['runs', 'show', approvedId, '--json'])).stdout) as { status: string; steps: { output: unknown; decision?: { comment?: string } }[] };
    expect(finished.status).toBe('succeeded');
    expect(finished.steps[1]).toMatchObject({ output: 'the edited draft', decision: { comment: 'fine' } });
    expect(finished.steps[2]!.output).toContain('Polish: the edited draft');

    const rejectedId = await waitingRun('comets');
    expect((await cli(['runs', 'reject', rejectedId, '--comment', 'off topic'])).stdout).toBe(`run ${rejectedId} rejected: failed\n`);
    const again = await cli(['runs', 'approve', rejectedId]);
    expect(again.code).toBe(1);
    oneLineError(again);

    const branched = await cli(['runs', 'branch', approvedId, '--from-step', '2', '--follow']);
    expect(branched.code, branched.stderr).toBe(0);
    expect(branched.stdout).toMatch(new RegExp(`^run (\\S+) queued \\(branch of ${approvedId} from step 2\\)$`, 'm'));
    expect((await cli(['runs', 'branch', approvedId])).code).toBe(2);
  });

  it('stops quietly when its output pipe closes early (conveyor … --json | head)', async () => {
    const env = { ...process.env, CONVEYOR_URL: stack.apiUrl, CONVEYOR_TOKEN: TOKEN };
    const child = spawn(process.execPath, ['packages/cli/bin/conveyor.mjs', 'runs', 'list', '--json', '--limit', '100'], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away before the CLI has written anything: its first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('says not found, with exit code 3, for unknown ids', async () => {
    for (const args of [
      ['runs', 'show', 'run_unknown'],
      ['runs', 'follow', 'run_unknown'],
      ['agents', 'show', 'agt_unknown'],
      ['pipelines', 'show', 'pip_unknown'],
      ['artifacts', 'show', 'art_unknown'],
      ['artifacts', 'output', 'art_unknown'],
      ['runs', 'submit', 'pip_unknown', '--input', 'x'],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(3);
      oneLineError(result);
      expect(result.stderr).toMatch(/^error: not_found: /);
    }
  });

  it('reports a refused token as unauthorized with exit code 1', async () => {
    const result = await cli(['agents', 'list'], { CONVEYOR_TOKEN: 'wrong-token-123' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: unauthorized: /);
  });

  it('reports an unreachable API with exit code 4', async () => {
    const result = await cli(['agents', 'list'], { CONVEYOR_URL: 'http://127.0.0.1:9' });
    expect(result).toMatchObject({ code: 4 });
    expect(result.stderr).toMatch(/^error: cannot reach the Conveyor API at http:\/\/127\.0\.0\.1:9 /);
  });

  it('treats bad usage as exit code 2', async () => {
    expect((await cli(['nonsense'])).code).toBe(2);
    expect((await cli(['runs', 'launch'])).code).toBe(2);
    expect(await cli(['runs', 'submit', pipelineId])).toMatchObject({ code: 2, stderr: 'error: runs submit: --input <text> or --input-json <json> is required\n' });
    expect((await cli(['agents', 'list', '--colour'])).stderr).toMatch(/^error: agents list: Unknown option '--colour'/);
    expect((await cli(['agents', 'create'])).stderr).toBe('error: agents create: -f <file> is required\n');
  });

  it('works as the conveyor executable, with its exit code', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, CONVEYOR_URL: stack.apiUrl, CONVEYOR_TOKEN: TOKEN };
    const ok = await run(process.execPath, ['packages/cli/bin/conveyor.mjs', 'artifacts', 'output', artifactId], { cwd: repoRoot, env });
    expect(ok.stdout).toContain('Reply from gpt-4.1-mini');
    const missing = await run(process.execPath, ['packages/cli/bin/conveyor.mjs', 'runs', 'show', 'run_unknown'], { cwd: repoRoot, env }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(missing).toMatchObject({ code: 3, stderr: expect.stringMatching(/^error: not_found: /) });
  });

  it('edits an artifact\'s final output into new versions and lists them', async () => {
    const edited = await cli(['artifacts', 'edit', artifactId, '--output', 'Otters, by a person']);
    expect(edited).toMatchObject({ code: 0, stdout: `artifact ${artifactId} version 2\n` });
    expect((await cli(['artifacts', 'output', artifactId])).stdout).toBe('Otters, by a person\n');
    const json = await cli(['artifacts', 'edit', artifactId, '--output-json', '{"otters": 3}', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: 3, data: { output: { otters: 3 } } });

    const versions = await cli(['artifacts', 'versions', artifactId]);
    expect(versions.stdout).toMatch(/^1\s+run\s+\S+\s+Reply from gpt-4\.1-mini/m);
    expect(versions.stdout).toMatch(/^2\s+edit\s+\S+\s+Otters, by a person$/m);
    expect(versions.stdout).toMatch(/^3\s+edit\s+\S+\s+\{/m);
    expect(await cli(['artifacts', 'edit', artifactId, '--output-json', '{bad'])).toMatchObject({ code: 2 });
  });
});

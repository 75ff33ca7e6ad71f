/**
 * `npm run demo`: makes Redis and Postgres reachable, migrates, starts the LLM emulator
 * (unless real provider keys are set), one API and two workers, and runs a two-step
 * pipeline (Claude then GPT) end to end: live progress, artifact with cost, verified webhook.
 * Stops everything it started unless `--keep` (or DEMO_KEEP=1).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@conveyor/cli/client';
import { artifactContent, type ArtifactJson } from '@conveyor/cli/commands/artifacts';
import { followRun } from '@conveyor/cli/follow';
import { asText, formatCost, formatUsage } from '@conveyor/cli/format';
import { styleFor } from '@conveyor/cli/style';
import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { demoAgents, demoInput, emulatedEditorAnswer, emulatedReplies, ensureDemoDefinitions } from './demo/definitions.ts';
import { startToolServer, type ToolServer } from './demo/tool-server.ts';
import { freePort } from '@conveyor/core';
import { demoCredentials, demoEnvironment, demoStorage, providerPlans } from './demo/environment.ts';
import { ManagedProcess, runToCompletion, tailOfFile } from './demo/processes.ts';
import { startWebhookReceiver, type WebhookReceiver } from './demo/webhook-receiver.ts';

class DemoFailure extends Error {
  constructor(
    message: string,
    readonly details?: string,
  ) {
    super(message);
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    [
      'npm run demo [-- --keep]',
      '  --keep (or DEMO_KEEP=1)  leave Conveyor running until Ctrl+C',
      'Environment: ANTHROPIC_API_KEY / OPENAI_API_KEY (use the real service instead of the emulator),',
      '  DEMO_PORT (API port, default 3000 if free), DEMO_DATABASE_URL (default: database conveyor_demo',
      '  on the DATABASE_URL server), DEMO_REDIS_PREFIX (default conveyor-demo), DEMO_LOG_DIR.',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
const unknown = args.filter((arg) => arg !== '--keep');
if (unknown.length > 0) {
  process.stderr.write(`demo: unknown argument ${unknown[0]} (try --help)\n`);
  process.exit(2);
}
const keep = args.includes('--keep') || ['1', 'true', 'yes'].includes(process.env.DEMO_KEEP ?? '');
const logDir = process.env.DEMO_LOG_DIR || join(tmpdir(), 'conveyor-demo');
mkdirSync(logDir, { recursive: true });

const out = process.stdout;
const style = styleFor(out);
const say = (text = '') => out.write(`${text}\n`);
const done = (text: string) => say(`  ${style.green('✓')} ${text}`);

const processes: ManagedProcess[] = [];
let emulator: Emulator | undefined;
let receiver: WebhookReceiver | undefined;
let toolServer: ToolServer | undefined;
let stopping = false;

/** Rejects as soon as a process the demo started exits on its own. */
let rejectOnCrash: (error: DemoFailure) => void = () => {};
const crashed = new Promise<never>((_, reject) => {
  rejectOnCrash = reject;
});
crashed.catch(() => {});
const guarded = <T>(work: Promise<T>) => Promise.race([work, crashed]);

function start(name: string, script: string, env: NodeJS.ProcessEnv): ManagedProcess {
  const child = new ManagedProcess(name, ['--import', 'tsx', script], { cwd: root, env, logPath: join(logDir, `${name}.log`) });
  processes.push(child);
  void child.exited.then((exit) => {
    if (stopping) return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    rejectOnCrash(new DemoFailure(`${name} exited unexpectedly (${how})`, child.tail()));
  });
  return child;
}

async function setUpServices(env: NodeJS.ProcessEnv): Promise<void> {
  const services = await runToCompletion('bash', ['scripts/services.sh'], { cwd: root, env, logPath: join(logDir, 'services.log'), showStderr: true });
  if (services !== 0) throw new DemoFailure('Redis and Postgres are not reachable (see above)');
  done('Redis and Postgres reachable');

  const migrateLog = join(logDir, 'migrate.log');
  const migrate = await runToCompletion(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], { cwd: root, env, logPath: migrateLog });
  if (migrate !== 0) throw new DemoFailure('database migration failed', tailOfFile(migrateLog));
  done(`database ${new URL(env.DATABASE_URL!).pathname.slice(1)} migrated`);
}

const childLogTails = () => processes.map((child) => `${child.name}:\n${child.tail(8)}`).join('\n');

const runTimeoutMs = 300_000;
const webhookTimeoutMs = 60_000;

function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DemoFailure(message, childLogTails())), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

async function waitUntilReady(apiUrl: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = await fetch(`${apiUrl}/readyz`).then((r) => r.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new DemoFailure(`the API did not become ready at ${apiUrl} within ${timeoutMs / 1000}s`, processes[0]?.tail());
}

async function main(): Promise<number> {
  const startedAt = Date.now();
  say(style.bold('Conveyor demo'));
  const baseEnv = { ...process.env, NODE_ENV: process.env.NODE_ENV === 'test' ? 'test' : 'development' };
  await setUpServices({ ...baseEnv, ...demoStorage(baseEnv) });

  const plans = providerPlans(process.env);
  if (plans.some((plan) => !plan.real)) {
    emulator = await startEmulator({ latencyMs: 150, tokensPerSecond: 30 });
    for (const plan of plans) {
      if (plan.real) continue;
      // The writer checks the facts with its tool first; the editor answers with structured output.
      if (plan.provider === 'anthropic') emulator.script({ provider: 'anthropic', toolCalls: [{ name: 'product_facts', input: { product: 'Conveyor' } }] });
      emulator.script(plan.provider === 'anthropic' ? { provider: 'anthropic', reply: emulatedReplies.anthropic } : { provider: 'openai', json: emulatedEditorAnswer });
    }
  }
  for (const plan of plans) {
    const variable = plan.provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY';
    done(plan.real ? `${plan.provider}: the real service (${variable} is set)` : `${plan.provider}: the LLM emulator at ${emulator!.url} (set ${variable} to use the real service)`);
  }

  receiver = await startWebhookReceiver(demoCredentials.webhookSecret);
  done(`webhook receiver at ${receiver.url}`);
  toolServer = await startToolServer(demoCredentials.webhookSecret);
  done(`HTTP tool product_facts at ${toolServer.url}`);

  const port = await freePort(Number(process.env.DEMO_PORT) || 3000);
  const { env, apiUrl } = demoEnvironment(baseEnv, { port, emulator, plans });
  start('api', 'apps/api/src/server.ts', env);
  start('worker-1', 'apps/worker/src/main.ts', env);
  start('worker-2', 'apps/worker/src/main.ts', env);
  await guarded(waitUntilReady(apiUrl));
  done(`API at ${apiUrl} and 2 workers (logs in ${logDir})`);

  const client = new ApiClient({ baseUrl: apiUrl, token: demoCredentials.apiToken });
  const { writer, editor, pipeline, reused } = await guarded(ensureDemoDefinitions(client, receiver.url, toolServer.url));
  done(`agents '${writer.name}' (${demoAgents.writer.model}, with the product_facts tool) and '${editor.name}' (${demoAgents.editor.model}, structured output)`);
  done(`pipeline '${pipeline.name}' ${pipeline.id}: 2 steps, webhook to the receiver${reused ? ' (reused from an earlier demo)' : ''}`);

  say();
  say(`${style.bold('Run')}  input: "${demoInput}"`);
  const run = await guarded(client.post<{ id: string }>(`/v1/pipelines/${pipeline.id}/runs`, { input: demoInput }));
  const result = await guarded(withDeadline(followRun(client, run.id, { out }), runTimeoutMs, 'the run did not finish in time'));
  if (result.status !== 'succeeded' || !result.artifactId) {
    throw new DemoFailure(`the run ${result.status === 'unknown' ? 'did not finish' : result.status}`, childLogTails());
  }

  const artifact = await guarded(client.get<ArtifactJson>(`/v1/artifacts/${result.artifactId}`));
  say();
  say(`${style.bold('Artifact')} ${artifact.id}`);
  say(`  total cost ${style.bold(`${formatCost(artifact.cost)} ${artifact.currency}`)} · ${formatUsage(artifact.usage)} · models ${artifact.models.join(', ')}`);
  say(`  final output:\n    ${asText(artifactContent(artifact).output).replace(/\n/g, '\n    ')}`);

  const delivery = await guarded(receiver.deliveryFor(run.id, webhookTimeoutMs));
  say();
  say(`${style.bold('Webhook')} ${delivery.type} for run ${delivery.runId} received; signature verified (webhook-id ${delivery.webhookId})`);

  say();
  say(style.bold('Look around') + (keep ? '' : ' (with `npm run demo -- --keep`, these stay up)'));
  say(`  console    ${apiUrl}/artifacts/${artifact.id}  (user ${demoCredentials.adminUser}, password ${demoCredentials.adminPassword})`);
  say(`  queues     ${apiUrl}/admin/queues`);
  say(`  API docs   ${apiUrl}/docs`);
  say(`  CLI        CONVEYOR_URL=${apiUrl} CONVEYOR_TOKEN=${demoCredentials.apiToken} npx conveyor runs show ${run.id}`);
  say();
  say(`Done in ${((Date.now() - startedAt) / 1000).toFixed(1)}s.`);

  if (keep) {
    say('Conveyor keeps running. Press Ctrl+C to stop it.');
    await guarded(new Promise<never>(() => {}));
  }
  return 0;
}

let stopped: Promise<void> | undefined;

/** Stops everything the demo started, once, however many times it is asked to. */
function stopAll(): Promise<void> {
  stopping = true;
  stopped ??= stopEverything();
  return stopped;
}

async function stopEverything(): Promise<void> {
  const started = processes.filter((child) => child.running);
  if (started.length > 0) out.write('Stopping the demo processes... ');
  // Workers first (they drain their jobs), then the API.
  await Promise.all(processes.filter((child) => child.name.startsWith('worker')).map((child) => child.stop()));
  await Promise.all(processes.map((child) => child.stop()));
  await receiver?.close();
  await toolServer?.close();
  await emulator?.close();
  if (started.length > 0) say('stopped.');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say();
    void stopAll().then(() => process.exit(keep ? 0 : 130));
  });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  say();
  say(`${style.red('demo failed:')} ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof DemoFailure && error.details) say(style.dim(error.details));
  say(`logs: ${logDir}`);
} finally {
  await stopAll();
}
process.exit(exitCode);

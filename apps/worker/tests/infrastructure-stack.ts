import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { startTestReceiver, type TestReceiver } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { spawnWorker, stopWorker, workerEnv, type WorkerHandle } from './harness.ts';

/**
 * Whether a file that needs a server binary (`installed`, from the testkit) can run. CI installs
 * them (.ci/run): there a missing one fails the file; a developer machine skips it, saying so.
 */
export function serverInstalled(installed: boolean, aptPackage: string, test: string): boolean {
  if (installed) return true;
  if (process.env.CI) throw new Error(`${aptPackage} is not installed: ${test} needs it (apt-get install ${aptPackage})`);
  console.warn(`${aptPackage} is not installed: skipping ${test}`);
  return false;
}

export interface InfrastructureStack {
  emulator: Emulator;
  receiver: TestReceiver;
  api: TestApi;
  worker: WorkerHandle;
  close(): Promise<void>;
}

/**
 * The emulator, a webhook receiver, the API in this process and a worker process, the API and
 * the worker both on `env` (the database or Redis under test). The worker delivers webhooks to
 * 127.0.0.1 and reconciles every second.
 */
export async function startInfrastructureStack(
  prefix: string,
  env: Record<string, string>,
  extra: { api?: Record<string, string>; worker?: Record<string, string> } = {},
): Promise<InfrastructureStack> {
  const started: { close(): Promise<unknown> }[] = [];
  const close = async () => {
    for (const part of started.reverse()) await part.close();
  };
  try {
    const emulator = await startEmulator({ tokensPerSecond: 400 });
    started.push(emulator);
    const receiver = await startTestReceiver();
    started.push(receiver);
    const api = createTestApi({ ...env, REDIS_PREFIX: prefix, ...emulator.providerEnv(), ...extra.api });
    started.push(api);
    const worker = await spawnWorker(workerEnv(prefix, emulator, { ...env, WEBHOOK_ALLOW_PRIVATE: 'true', RECONCILE_INTERVAL_SECONDS: '1', ...extra.worker }));
    started.push({ close: () => stopWorker(worker) });
    return { emulator, receiver, api, worker, close };
  } catch (error) {
    await close();
    throw error;
  }
}

const json = async (response: Response): Promise<any> => response.json();

/** A pipeline of two steps on two providers: a writer on claude-sonnet-4-6, then an editor on gpt-4o. */
export async function writerEditorPipeline(api: TestApi, name: string): Promise<string> {
  const writer = await json(await api.call('POST', '/v1/agents', { name: 'writer', model: 'claude-sonnet-4-6' }));
  const editor = await json(await api.call('POST', '/v1/agents', { name: 'editor', model: 'gpt-4o' }));
  const pipeline = await json(await api.call('POST', '/v1/pipelines', { name, steps: [{ agentId: writer.id }, { agentId: editor.id }] }));
  return pipeline.id as string;
}

/** The events of a two-step run that succeeds, deltas left out. */
export const twoStepRunSucceeded = ['run.started', 'step.started', 'step.completed', 'step.started', 'step.completed', 'run.succeeded'];

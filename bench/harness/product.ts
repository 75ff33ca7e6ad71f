import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './environment.ts';

const run = promisify(execFile);

/** The compiled entry points `npm run build` writes; the benchmarks run these, as production does. */
export const productEntries = {
  api: 'apps/api/dist/server.js',
  worker: 'apps/worker/dist/main.js',
};

/**
 * The variables the Dockerfile's runtime stage sets (its `ENV` lines, `KEY=value` pairs): the
 * benchmarks start the bundles with them, as the image does (NODE_ENV, the allocator's trim threshold).
 */
export function imageEnvironment(dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')): Record<string, string> {
  const stages = dockerfile.split(/^FROM\s/m);
  const runtime = stages.find((stage) => /^\S+\s+AS\s+runtime\s*$/im.test(stage.split('\n')[0] ?? ''));
  if (!runtime) throw new Error('the Dockerfile has no stage named runtime');
  const environment: Record<string, string> = {};
  for (const line of runtime.split('\n')) {
    if (!line.startsWith('ENV ')) continue;
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const equals = pair.indexOf('=');
      if (equals > 0) environment[pair.slice(0, equals)] = pair.slice(equals + 1);
    }
  }
  return environment;
}

/** Thrown when `npm run build` fails. */
export class ProductBuildError extends Error {
  override name = 'ProductBuildError';
}

/** Builds the API and worker bundles from the current sources (`npm run build`). */
export async function buildProduct(): Promise<void> {
  try {
    await run('npm', ['run', 'build'], { cwd: repoRoot, maxBuffer: 16 * 2 ** 20 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new ProductBuildError(`npm run build failed:\n${`${stdout}\n${stderr}`.trim().split('\n').slice(-20).join('\n')}`);
  }
}

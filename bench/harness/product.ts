import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from './environment.ts';

const run = promisify(execFile);

/** The compiled entry points `npm run build` writes; the benchmarks run these, as production does. */
export const productEntries = {
  api: 'apps/api/dist/server.js',
  worker: 'apps/worker/dist/main.js',
};

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

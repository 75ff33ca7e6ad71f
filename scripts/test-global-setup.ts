import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl } from '../vitest.shared.ts';

/** Creates and migrates the test database once per test run. */
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: testDatabaseUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

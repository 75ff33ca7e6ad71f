import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator, type EmulatorOptions } from '@conveyor/llm-emulator';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { stopProcess } from './child-process.ts';
import { ADMIN } from './console-session.ts';

export const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The API and a worker as processes on a database of their own (fresh at start, dropped at close),
 * the emulator, and a Chromium page signed in to the console.
 */
export interface BrowserStack {
  base: string;
  /** The stack's own database, for tests that write rows the API has no route for. */
  databaseUrl: string;
  emulator: Emulator;
  browser: Browser;
  /** The context of `page`. */
  context: BrowserContext;
  page: Page;
  /** What the processes printed: worth showing when a test fails. */
  output(): string;
  /** A request to the HTTP API with the stack's token, whatever its answer. */
  request(method: string, path: string, body?: unknown): Promise<Response>;
  /** A call to the HTTP API with the stack's token; throws on a non-2xx answer. */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Fills and sends the console's login form on `page`, which shows it, and waits until it leaves the login. */
  signIn(page: Page): Promise<void>;
  close(): Promise<void>;
}

export interface BrowserStackOptions {
  /** Names the stack's database (a copy of the test database's schema) and Redis prefix. */
  name: string;
  env?: Record<string, string>;
  emulator?: EmulatorOptions;
  /** The page's viewport (default 1280 × 900). */
  viewport?: { width: number; height: number };
  /** Called with the page before it loads anything, to listen to its events. */
  onPage?: (page: Page) => void;
  /** Whether the page signs in at start (default true); a test of the login itself starts on a blank page. */
  signIn?: boolean;
}

async function signIn(page: Page): Promise<void> {
  await page.fill('#user', ADMIN.ADMIN_USER);
  await page.fill('#password', ADMIN.ADMIN_PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForURL((url) => url.pathname !== '/login');
}

export async function startBrowserStack(options: BrowserStackOptions): Promise<BrowserStack> {
  const databaseUrl = new URL(process.env.DATABASE_URL!);
  databaseUrl.pathname = `${databaseUrl.pathname}_${options.name}`;
  // Left over by a stack that never closed: every stack starts on empty tables.
  await dropDatabase(databaseUrl);
  execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl.toString() },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let output = '';
  const processes: ChildProcess[] = [];
  const start = (entry: string, env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += `[${entry}] ${chunk}`));
    child.stderr?.on('data', (chunk: Buffer) => (output += `[${entry}] ${chunk}`));
    child.once('exit', (code, signal) => (output += `[${entry}] exited (${code ?? signal})\n`));
    processes.push(child);
  };
  const emulator = await startEmulator({ host: '127.0.0.1', ...options.emulator });
  const token = `browser-stack-${options.name}-token`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_PREFIX: testPrefix(options.name),
    ...ADMIN,
    API_TOKENS: token,
    ENCRYPTION_KEY: 'ef'.repeat(32),
    ...emulator.providerEnv('emulator-key'),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    RECONCILE_INTERVAL_SECONDS: '0',
    ...options.env,
  };
  start('apps/api/src/server.ts', env);
  start('apps/worker/src/main.ts', env);
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await Promise.all(processes.map((child) => stopProcess(child)));
    await emulator.close();
    await dropDatabase(databaseUrl);
  };
  try {
    const deadline = Date.now() + 90_000;
    while (!(await fetch(`${base}/readyz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`the API did not become ready\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } });
    const page = await context.newPage();
    options.onPage?.(page);
    if (options.signIn !== false) {
      await page.goto(`${base}/login`);
      await signIn(page);
    }
    const request = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    return {
      base,
      databaseUrl: databaseUrl.toString(),
      emulator,
      browser,
      context,
      page,
      output: () => output,
      request,
      async call<T>(method: string, path: string, body?: unknown): Promise<T> {
        const response = await request(method, path, body);
        if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
        return (response.status === 204 ? undefined : await response.json()) as T;
      },
      signIn,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function dropDatabase(databaseUrl: URL): Promise<void> {
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${decodeURIComponent(databaseUrl.pathname.slice(1)).replaceAll('"', '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

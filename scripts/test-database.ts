/**
 * Runs before each test file (vitest `setupFiles`): the file gets a database of its own, a
 * copy of the migrated test database, so no test file sees another's runs, keys or settings,
 * and workers and reconcilers started by a test may take every run they find.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';

const template = new URL(process.env.DATABASE_URL!);
const templateName = decodeURIComponent(template.pathname.slice(1));
const name = `${templateName}_${randomBytes(5).toString('hex')}`;
const admin = new URL(template);
admin.pathname = '/postgres';

async function onAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const quoted = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

await onAdmin(async (client) => {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(`CREATE DATABASE ${quoted(name)} TEMPLATE ${quoted(templateName)}`);
      return;
    } catch (error) {
      // Another file's copy of the template in progress holds it for a moment (55006: "being accessed by other users").
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
});

const url = new URL(template);
url.pathname = `/${name}`;
process.env.DATABASE_URL = url.toString();

afterAll(async () => {
  await onAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`));
});

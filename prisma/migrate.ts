/**
 * `deploy`: creates the database if needed and applies pending migrations.
 * `create <name>`: writes prisma/migrations/<timestamp>_<name>/migration.sql from the
 * difference between the schema as of the last migration and schema.prisma now.
 *
 * The files and the `_prisma_migrations` table are the ones `prisma migrate deploy` uses.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { emptyFilters, openSchemaEngine } from './engine.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const migrationsDir = `${here}migrations`;
const schemaPath = `${here}schema.prisma`;
/** The schema as of the newest migration: the "from" side of the next diff. */
const snapshotPath = `${migrationsDir}/schema.snapshot.prisma`;
const defaultUrl = 'postgresql://postgres:postgres@127.0.0.1:5432/conveyor';

function fail(message: string): never {
  process.stderr.write(`db: ${message}\n`);
  process.exit(1);
}

async function ensureDatabase(connectionString: string): Promise<void> {
  const target = new URL(connectionString);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name) fail('DATABASE_URL names no database');
  const admin = new URL(connectionString);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
  } catch (error) {
    fail(`cannot reach Postgres at ${target.host}: ${(error as Error).message}`);
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently
      });
      process.stdout.write(`db: created database ${name}\n`);
    }
  } finally {
    await client.end();
  }
}

async function migrationDirectories() {
  if (!existsSync(migrationsDir)) return [];
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  return Promise.all(
    dirs.map(async (dir) => ({
      path: dir,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok', value: await readFile(`${migrationsDir}/${dir}/migration.sql`, 'utf8') },
      },
    })),
  );
}

/** True when every migration file is already recorded as applied with the same checksum. */
async function upToDate(client: pg.Client, migrations: Awaited<ReturnType<typeof migrationDirectories>>): Promise<boolean> {
  const { rows } = await client
    .query<{ migration_name: string; checksum: string }>(
      'SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    )
    .catch(() => ({ rows: [] }));
  const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
  return migrations.every(
    (m) => applied.get(m.path) === createHash('sha256').update(m.migrationFile.content.value).digest('hex'),
  );
}

async function deploy(connectionString: string): Promise<void> {
  await ensureDatabase(connectionString);
  const migrations = await migrationDirectories();
  // One migrator at a time, across processes and machines (a key of our own: the engine takes Prisma's own lock inside).
  const lock = new pg.Client({ connectionString });
  await lock.connect();
  await lock.query('SELECT pg_advisory_lock(7270736901)');
  try {
    if (await upToDate(lock, migrations)) {
      process.stdout.write('db: up to date\n');
      return;
    }
    const schema = await readFile(schemaPath, 'utf8');
    const engine = await openSchemaEngine(schema, connectionString, () => {});
    const lockfile = `${migrationsDir}/migration_lock.toml`;
    const result = await engine.applyMigrations({
      migrationsList: {
        baseDir: migrationsDir,
        lockfile: { path: 'migration_lock.toml', content: existsSync(lockfile) ? await readFile(lockfile, 'utf8') : null },
        shadowDbInitScript: '',
        migrationDirectories: migrations,
      },
      filters: emptyFilters,
    });
    const applied: string[] = result.appliedMigrationNames ?? [];
    process.stdout.write(applied.length ? `db: applied ${applied.join(', ')}\n` : 'db: up to date\n');
  } finally {
    await lock.query('SELECT pg_advisory_unlock(7270736901)').catch(() => {});
    await lock.end();
  }
}

async function create(name: string, connectionString: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) fail('migration name: use lower-case letters, digits and _');
  await ensureDatabase(connectionString);
  const schema = await readFile(schemaPath, 'utf8');
  const previous = existsSync(snapshotPath) ? await readFile(snapshotPath, 'utf8') : null;
  const engine = await openSchemaEngine(schema, connectionString, () => {});
  const { stdout } = await engine.diff({
    from: previous === null ? { tag: 'empty' } : { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: previous }] },
    to: { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] },
    script: true,
    exitCode: null,
    filters: emptyFilters,
  });
  if (!stdout.trim() || /^-- This is an empty migration/.test(stdout.trim())) {
    process.stdout.write('db: schema unchanged, no migration written\n');
    return;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const dir = `${migrationsDir}/${stamp}_${name}`;
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}/migration.sql`, stdout);
  await writeFile(snapshotPath, schema);
  const lockfile = `${migrationsDir}/migration_lock.toml`;
  if (!existsSync(lockfile)) await writeFile(lockfile, '# Do not edit: written by the migration tool.\nprovider = "postgresql"\n');
  process.stdout.write(`db: wrote prisma/migrations/${stamp}_${name}/migration.sql\n`);
}

const [command, name] = process.argv.slice(2);
const connectionString = process.env.DATABASE_URL?.trim() || defaultUrl;
try {
  if (command === 'deploy') await deploy(connectionString);
  else if (command === 'create' && name) await create(name, connectionString);
  else fail('usage: migrate.ts deploy | create <name>');
  process.exit(0); // the engine's connection pool would keep the process alive
} catch (error) {
  fail((error as Error).message.split('\n')[0] ?? 'migration failed');
}

/**
 * Prisma's WebAssembly schema engine, loaded in Node. It writes migration SQL and
 * applies migrations into the standard `_prisma_migrations` table without the
 * native schema engine (which Prisma downloads at run time).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';

const require = createRequire(import.meta.url);

export const emptyFilters = { externalTables: [], externalEnums: [] };

// biome-ignore lint: the wasm-bindgen module has no types
type SchemaEngine = any;

export async function openSchemaEngine(schema: string, connectionString: string, log: (line: string) => void): Promise<SchemaEngine> {
  const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = await readFile(join(dirname(bgPath), 'schema_engine_bg.wasm'));
  // Node has WebAssembly as a global; TypeScript declares its values only in the DOM lib.
  const wasm = (globalThis as unknown as { WebAssembly: { instantiate(b: Buffer, i: object): Promise<{ instance: { exports: any } }> } }).WebAssembly;
  const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': bg });
  (bg as any).__wbg_set_wasm(instance.exports);
  (instance.exports as any).__wbindgen_start();
  return (bg as any).SchemaEngine.new(
    { datamodels: [['schema.prisma', schema]] },
    log,
    bindMigrationAwareSqlAdapterFactory(new PrismaPg({ connectionString })),
  );
}

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DefinitionFileError } from './errors.ts';

/**
 * Reads a definition file: JSON (`.json`) or YAML (`.yaml`, `.yml`, or anything else, since
 * YAML is a superset of JSON). `-` reads standard input. Returns one or more objects.
 */
export async function readDefinitions(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : 'cannot be read';
    throw new DefinitionFileError(path, reason);
  }

  let value: unknown;
  try {
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const kind = extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML';
    throw new DefinitionFileError(path, `not valid ${kind}: ${firstLine(error)}`);
  }

  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw new DefinitionFileError(path, 'contains no definitions');
  items.forEach((item, position) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      const where = Array.isArray(value) ? `item ${position + 1}` : 'the document';
      throw new DefinitionFileError(path, `${where} must be an object (a mapping of fields)`);
    }
  });
  return items as Record<string, unknown>[];
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();

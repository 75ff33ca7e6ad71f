import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDefinitions } from './definition-file.ts';
import { DefinitionFileError, ExitCode } from './errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-cli-defs-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('readDefinitions', () => {
  it('reads one YAML object', async () => {
    const path = file('agent.yaml', 'name: writer\nmodel: claude-haiku-4-5\ntools: [web_search]\n');
    expect(await readDefinitions(path)).toEqual([{ name: 'writer', model: 'claude-haiku-4-5', tools: ['web_search'] }]);
  });

  it('reads a JSON array of objects', async () => {
    const path = file('agents.json', '[{"name":"a","model":"gpt-4o"},{"name":"b","model":"gpt-4o"}]');
    expect((await readDefinitions(path)).map((d) => d.name)).toEqual(['a', 'b']);
  });

  it('names the file and the reason when the file is missing', async () => {
    const path = join(dir, 'missing.yaml');
    await expect(readDefinitions(path)).rejects.toThrow(new DefinitionFileError(path, 'no such file'));
  });

  it('names the file and the parse error for invalid JSON, as a usage error', async () => {
    const path = file('broken.json', '{"name": ');
    const error = await readDefinitions(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionFileError);
    expect((error as DefinitionFileError).message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON: `));
    expect((error as DefinitionFileError).exitCode).toBe(ExitCode.usage);
  });

  it('refuses invalid YAML and documents that are not objects', async () => {
    await expect(readDefinitions(file('bad.yaml', 'name: [unclosed\n'))).rejects.toThrow(/bad\.yaml: not valid YAML: /);
    await expect(readDefinitions(file('scalar.yaml', 'just text\n'))).rejects.toThrow(/scalar\.yaml: the document must be an object/);
    await expect(readDefinitions(file('list.yaml', '- name: a\n- 3\n'))).rejects.toThrow(/list\.yaml: item 2 must be an object/);
    await expect(readDefinitions(file('empty.json', '[]'))).rejects.toThrow(/empty\.json: contains no definitions/);
  });
});

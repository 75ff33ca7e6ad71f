import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export const jsonOption = { json: { type: 'boolean' } } as const satisfies Options;

/** Strict parsing: unknown options and a wrong number of positionals are usage errors. */
export function parseCommand<const O extends Options>(
  command: string,
  args: string[],
  options: O,
  positionals: string[] = [],
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (parsed.positionals.length !== positionals.length) {
    const expected = positionals.length === 0 ? 'no arguments' : positionals.map((name) => `<${name}>`).join(' ');
    const extra = parsed.positionals.length > positionals.length ? `unexpected argument '${parsed.positionals[positionals.length]}'` : `missing ${expected}`;
    throw new UsageError(`${command}: ${extra}`);
  }
  return parsed;
}

export function requireOption(command: string, value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${command}: ${flag} is required`);
  return value;
}

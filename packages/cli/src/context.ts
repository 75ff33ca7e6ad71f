import type { ApiClient } from './client.ts';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CommandContext {
  client: ApiClient;
  stdout: Output;
  stderr: Output;
}

/** One subcommand: takes its own arguments, returns the exit code. */
export type Command = (args: string[], context: CommandContext) => Promise<number>;

export interface CommandGroup {
  summary: string;
  usage: string;
  commands: Record<string, Command>;
  /** A group that is itself the command (`conveyor spend [options]`). */
  run?: Command;
}

export const printJson = (out: Output, value: unknown) => out.write(`${JSON.stringify(value, null, 2)}\n`);

import { ApiClient, clientOptionsFromEnv } from './client.ts';
import { agents } from './commands/agents.ts';
import { artifacts } from './commands/artifacts.ts';
import { pipelines } from './commands/pipelines.ts';
import { runs } from './commands/runs.ts';
import { schedules } from './commands/schedules.ts';
import { spend } from './commands/spend.ts';
import type { CommandGroup, Output } from './context.ts';
import { CliError, ExitCode } from './errors.ts';

const groups: Record<string, CommandGroup> = { agents, pipelines, runs, schedules, artifacts, spend };

const help = () => `conveyor: run AI agent pipelines from the command line

${Object.values(groups)
  .map((group) => group.usage)
  .join('\n')}

Configuration: CONVEYOR_URL (default http://127.0.0.1:3000), CONVEYOR_TOKEN (default: the first of API_TOKENS).
Exit codes: 0 ok, 1 the API refused the request, 2 bad usage or definition file, 3 not found,
            4 API unreachable (or a run's event stream broke), 5 a followed run failed or was canceled.
`;

export interface Io {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [groupName, commandName, ...args] = argv;
  if (!groupName) {
    io.stderr.write(help());
    return ExitCode.usage;
  }
  if (groupName === 'help' || groupName === '--help' || groupName === '-h') {
    io.stdout.write(help());
    return ExitCode.ok;
  }
  const group = groups[groupName];
  if (!group) return usageFailure(io, `unknown command '${groupName}'`);
  const standalone = group.run && (!commandName || commandName.startsWith('-'));
  if (!commandName && !standalone) return usageFailure(io, `${groupName}: which command?`, group.usage);
  if (commandName === '--help' || commandName === '-h') {
    io.stdout.write(`${group.usage}\n`);
    return ExitCode.ok;
  }
  const command = standalone ? group.run : group.commands[commandName!];
  if (!command) return usageFailure(io, `unknown command '${groupName} ${commandName}'`, group.usage);
  const commandArgs = standalone && commandName ? [commandName, ...args] : args;
  if (commandArgs.includes('--help') || commandArgs.includes('-h')) {
    io.stdout.write(`${group.usage}\n`);
    return ExitCode.ok;
  }

  try {
    return await command(commandArgs, { client: new ApiClient(clientOptionsFromEnv(io.env)), stdout: io.stdout, stderr: io.stderr });
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`error: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.apiError;
  }
}

function usageFailure(io: Io, message: string, usage = 'run `conveyor --help` for the commands'): number {
  io.stderr.write(`error: ${message}\n${usage}\n`);
  return ExitCode.usage;
}

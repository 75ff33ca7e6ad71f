import { jsonOption, parseCommand, requireOption } from '../args.ts';
import type { CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import { readDefinitions } from '../definition-file.ts';
import { table } from '../format.ts';

export interface AgentJson {
  id: string;
  name: string;
  model: string;
  systemPrompt: string | null;
  temperature: number | null;
  maxTokens: number | null;
  tools: string[];
  fallbackModels: string[];
  cacheSystemPrompt: boolean;
  createdAt: string;
}

export const agents: CommandGroup = {
  summary: 'create, list and show agents',
  usage: `conveyor agents create -f <agent.yaml|agent.json|-> [--json]
conveyor agents list [--json]
conveyor agents show <agentId> [--json]`,
  commands: {
    async create(args, { client, stdout }) {
      const { values } = parseCommand('agents create', args, { ...jsonOption, file: { type: 'string', short: 'f' } });
      const definitions = await readDefinitions(requireOption('agents create', values.file, '-f <file>'));
      const created: AgentJson[] = [];
      for (const definition of definitions) {
        const agent = await client.post<AgentJson>('/v1/agents', definition);
        created.push(agent);
        if (!values.json) stdout.write(`created agent ${agent.id}  ${agent.name} (${agent.model})\n`);
      }
      if (values.json) printJson(stdout, created.length === 1 ? created[0] : created);
      return 0;
    },

    async list(args, { client, stdout }) {
      const { values } = parseCommand('agents list', args, jsonOption);
      const list = await client.all<AgentJson>('/v1/agents');
      if (values.json) return (printJson(stdout, list), 0);
      if (list.length === 0) return (stdout.write('no agents yet: conveyor agents create -f agent.yaml\n'), 0);
      stdout.write(`${table(['ID', 'NAME', 'MODEL', 'TOOLS'], list.map((a) => [a.id, a.name, a.model, a.tools.join(',') || '-']))}\n`);
      return 0;
    },

    async show(args, { client, stdout }) {
      const { values, positionals } = parseCommand('agents show', args, jsonOption, ['agentId']);
      const agent = await client.get<AgentJson>(`/v1/agents/${encodeURIComponent(positionals[0]!)}`);
      if (values.json) return (printJson(stdout, agent), 0);
      const rows: [string, string][] = [
        ['id', agent.id],
        ['name', agent.name],
        ['model', agent.model],
        ['temperature', agent.temperature === null ? '-' : String(agent.temperature)],
        ['max tokens', agent.maxTokens === null ? '-' : String(agent.maxTokens)],
        ['tools', agent.tools.join(', ') || '-'],
        ['fallbacks', agent.fallbackModels.join(', ') || '-'],
        ['prompt cache', agent.cacheSystemPrompt ? 'system prompt and tools' : '-'],
        ['system prompt', agent.systemPrompt ?? '-'],
      ];
      stdout.write(`${rows.map(([key, value]) => `${key.padEnd(14)}${value}`).join('\n')}\n`);
      return 0;
    },
  },
};

import type { ApiClient } from '@conveyor/cli/client';
import type { AgentJson } from '@conveyor/cli/commands/agents';
import type { PipelineJson } from '@conveyor/cli/commands/pipelines';

/** What the demo creates (or updates, on later runs: the names are its keys). */
export const demoAgents = {
  writer: {
    name: 'demo writer (Claude)',
    model: 'claude-haiku-4-5',
    systemPrompt: 'You write short, vivid product copy. Three sentences at most. Check the facts with the product_facts tool first.',
    maxTokens: 300,
  },
  editor: {
    name: 'demo editor (GPT)',
    model: 'gpt-4.1-mini',
    systemPrompt: 'You are a sharp editor.',
    maxTokens: 200,
    outputSchema: {
      type: 'object',
      properties: { tweet: { type: 'string' }, hashtags: { type: 'array', items: { type: 'string' } } },
      required: ['tweet', 'hashtags'],
      additionalProperties: false,
    },
  },
};

/** The writer's HTTP tool, served by the demo itself (scripts/demo/tool-server.ts). */
export const productFactsTool = (url: string) => ({
  type: 'http' as const,
  name: 'product_facts',
  description: 'Facts about a product: what it does and its main features.',
  inputSchema: { type: 'object', properties: { product: { type: 'string' } }, required: ['product'] },
  url,
});

export const demoPipelineName = 'demo pipeline';
export const demoInput = 'Conveyor, a service that runs AI agent pipelines as background jobs';

export const writerPrompt = 'Write a product blurb for: {{input}}';
export const editorPrompt = 'Turn this blurb into one tweet of at most 200 characters and up to three hashtags:\n\n{{previous}}';

/** The emulator's replies (the real services write their own). */
export const emulatedReplies = {
  anthropic:
    'Conveyor turns your AI agents into dependable background jobs. Define a pipeline once, submit a run over HTTP, ' +
    'and watch every step stream in live. When it is done you get a signed webhook, a stored artifact and the exact cost, down to the token.',
  openai:
    'Ship AI agent pipelines like background jobs: submit over HTTP, watch each step stream live, ' +
    'and get a signed webhook plus the exact cost when it is done. That is Conveyor.',
};

/** The emulated editor's structured answer. */
export const emulatedEditorAnswer = { tweet: emulatedReplies.openai, hashtags: ['#AI', '#DevTools'] };

async function upsertAgent(client: ApiClient, existing: AgentJson[], definition: { name: string } & Record<string, unknown>): Promise<AgentJson> {
  const found = existing.find((agent) => agent.name === definition.name);
  return found
    ? client.patch<AgentJson>(`/v1/agents/${found.id}`, definition)
    : client.post<AgentJson>('/v1/agents', definition);
}

/**
 * The demo's two agents and its pipeline: created on the first run, brought up to date
 * (webhook URL included) on later runs, so repeated demos do not pile up definitions.
 */
export async function ensureDemoDefinitions(client: ApiClient, webhookUrl: string, toolUrl: string) {
  const agents = await client.all<AgentJson>('/v1/agents');
  const writer = await upsertAgent(client, agents, { ...demoAgents.writer, tools: [productFactsTool(toolUrl)] });
  const editor = await upsertAgent(client, agents, demoAgents.editor);
  const definition = {
    name: demoPipelineName,
    steps: [
      { agentId: writer.id, prompt: writerPrompt },
      { agentId: editor.id, prompt: editorPrompt },
    ],
    webhookUrl,
  };
  const found = (await client.all<PipelineJson>('/v1/pipelines')).find((pipeline) => pipeline.name === demoPipelineName);
  const pipeline = found
    ? await client.patch<PipelineJson>(`/v1/pipelines/${found.id}`, definition)
    : await client.post<PipelineJson>('/v1/pipelines', definition);
  return { writer, editor, pipeline, reused: Boolean(found) };
}

import { addCosts, addUsage } from '../../catalog/cost.ts';
import { SecretBoxError, type SecretBox } from '../../crypto/secret-box.ts';
import type { RunEventStream } from '../../events/publish.ts';
import { checkStructuredAnswer, repairInstruction } from '../../json-schema/validate.ts';
import type { Logger } from '../../logger.ts';
import { RunFailedError } from '../../pipeline/errors.ts';
import type { ResolvedModel } from '../../providers/registry.ts';
import type { BuiltinTool, ChatMessage, ToolCall, ToolResultPart, Usage } from '../../providers/types.ts';
import { postgresSafeJson, postgresSafeText } from '../../text/postgres-safe.ts';
import type { HttpToolOptions } from '../../tools/http.ts';
import { McpConnectionError, type McpOptions } from '../../tools/mcp.ts';
import type { ToolResult } from '../../tools/result.ts';
import type { AgentTool } from '../../tools/schema.ts';
import { openToolSecrets, ToolSecretsKeyMissingError } from '../../tools/secrets.ts';
import { openToolbox, type Toolbox } from '../../tools/toolbox.ts';
import { untilWritten } from './infrastructure.ts';
import { callModel, type ModelCallDeps, stepLabel } from './model-call.ts';
import type { AgentSnapshot, FailedAttempt, RunState, RunStore, StoredTurn, ToolCallRecord, TurnRecord } from './store.ts';

/** How steps reach their tools, and the key that opens stored MCP header values. */
export interface StepToolsOptions {
  http: HttpToolOptions;
  mcp: Omit<McpOptions, 'signal'>;
  secrets: SecretBox | undefined;
}

export interface AgentLoopDeps extends ModelCallDeps {
  store: RunStore;
  tools: StepToolsOptions;
  logger: Logger;
}

export interface AgentLoopInput {
  runId: string;
  stepIndex: number;
  agent: AgentSnapshot;
  resolved: ResolvedModel;
  /** The agent's fallback models, for every turn. */
  fallbacks?: readonly ResolvedModel[];
  /** The run's budget and what it had spent before this step; each turn's check adds the step's earlier turns. */
  budget?: { maxCostUsd: string; spentSoFar: string } | undefined;
  prompt: string;
  /** The step was started by an earlier attempt: its recorded turns are replayed, not requested again. */
  resumed: boolean;
  events: RunEventStream;
  /** Aborts the model call or tool calls in flight (cancel, timeout, shutdown). */
  signal: AbortSignal;
  now: () => Date;
}

/** What a step that acts ends with: its final answer and the sums over its turns. */
export interface AgentLoopResult {
  /** The final text, or the JSON text of a structured answer. */
  output: string;
  structured: boolean;
  /** The structured answer's value (when `structured`). */
  value?: unknown;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cost: string | null;
  warnings: string[];
  /** The model that gave the final answer (a fallback's when the agent's own failed). */
  provider: string;
  model: string;
  /** When the final answer's call was made. */
  calledAt: Date;
  /** Models that failed after their retries, over every turn. */
  failedAttempts: FailedAttempt[];
  /** The first turn's time to first token. */
  firstTokenMs: number | null;
}

/** The run was canceled or ended while a turn or tool call was being recorded: the step stops there. */
export class RunStateChanged extends Error {
  override name = 'RunStateChanged';
  constructor(readonly state: RunState | undefined) {
    super('the run was canceled or ended while its step was running');
  }
}

/** Whether a step is a loop of turns (it has function tools or an output schema) rather than one call. */
export const stepActs = (agent: AgentSnapshot): boolean => agent.outputSchema !== null || agent.tools.some((tool) => typeof tool !== 'string');

const toolCallsOf = (message: ChatMessage): ToolCall[] =>
  typeof message.content === 'string'
    ? []
    : message.content.flatMap((part) => (part.type === 'tool_call' ? [{ id: part.id, name: part.name, input: part.input, inputText: JSON.stringify(part.input ?? {}) }] : []));

const textOf = (message: ChatMessage): string =>
  typeof message.content === 'string' ? message.content : message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');

/**
 * One step of an agent that acts: model turn → tool calls (in parallel) → results → next turn,
 * until the model answers without tool calls (checked against the output schema, with one
 * repair turn) or `maxTurns` is reached. Each turn and each tool call is written to Postgres as
 * it finishes; a resumed step replays what was written (never asking for a finished turn or
 * running a finished tool call again) and goes on from the first unfinished one.
 */
export async function runAgentLoop(deps: AgentLoopDeps, input: AgentLoopInput): Promise<AgentLoopResult> {
  const { agent, stepIndex, runId, events, signal } = input;
  const recorded = input.resumed ? await deps.store.loadTurns(runId, stepIndex) : [];
  const toolbox = await openStepTools(deps, input);
  const warnings: string[] = [...(toolbox?.warnings ?? [])];
  const turns: TurnRecord[] = [];
  const messages: ChatMessage[] = [{ role: 'user', content: input.prompt }];
  const offered = toolbox?.tools ?? agent.tools.filter((tool): tool is BuiltinTool => typeof tool === 'string');
  let repairUsed = false;
  const failedAttempts: FailedAttempt[] = [];

  const checkState = (state: RunState | undefined) => {
    if (!state || state.status !== 'running' || state.cancelRequested) throw new RunStateChanged(state);
  };

  try {
    for (let turnNumber = 1; ; turnNumber++) {
      const replayed: StoredTurn | undefined = recorded[turnNumber - 1];
      let turn: TurnRecord;
      if (replayed) {
        turn = replayed;
      } else {
        const requested = await requestTurn(deps, input, turnNumber, messages, offered, checkState, turns);
        turn = requested.turn;
        failedAttempts.push(...requested.failedAttempts);
      }
      turns.push(turn);
      warnings.push(...turn.warnings);
      messages.push(turn.message);

      const calls = toolCallsOf(turn.message);
      if (calls.length > 0) {
        if (turnNumber >= agent.maxTurns) {
          throw new RunFailedError({
            code: 'max_turns',
            message: `${stepLabel(stepIndex)} reached its maximum of ${agent.maxTurns} model turns while the model still asked for tools`,
            step: stepIndex,
          });
        }
        const results = await runToolCalls(deps, input, toolbox, turnNumber, calls, replayed?.toolCalls ?? [], checkState);
        for (const result of results) warnings.push(...result.warnings);
        messages.push({
          role: 'user',
          content: results.map((result): ToolResultPart => ({ type: 'tool_result', toolCallId: result.toolCallId, output: result.output, isError: result.isError })),
        });
        continue;
      }

      const text = textOf(turn.message);
      if (!agent.outputSchema) return finish(turns, text, false, undefined, warnings);
      const checked = checkStructuredAnswer(text, agent.outputSchema);
      if (checked.ok) return finish(turns, JSON.stringify(checked.value), true, checked.value, warnings);
      if (!repairUsed) {
        repairUsed = true;
        messages.push({ role: 'user', content: repairInstruction(checked.errors) });
        continue;
      }
      throw new RunFailedError({
        code: 'invalid_output',
        message: `${stepLabel(stepIndex)}: the answer does not match the output schema after a repair turn: ${checked.errors.join('; ')}`,
        step: stepIndex,
        validationErrors: checked.errors,
      });
    }
  } finally {
    await toolbox?.close();
  }

  function finish(all: TurnRecord[], output: string, structured: boolean, value: unknown, notes: string[]): AgentLoopResult {
    const { usage, cost } = usageOfTurns(all);
    return {
      output,
      structured,
      ...(structured ? { value } : {}),
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens ?? 0,
      cacheWriteTokens: usage.cacheWriteTokens ?? 0,
      cost,
      warnings: [...new Set(notes)],
      provider: all.at(-1)!.provider,
      model: all.at(-1)!.model,
      calledAt: all.at(-1)!.calledAt,
      failedAttempts,
      firstTokenMs: all[0]!.firstTokenMs,
    };
  }
}

/** Connects the step's MCP servers and lists their tools; none when the agent has only built-ins. */
async function openStepTools(deps: AgentLoopDeps, input: AgentLoopInput): Promise<Toolbox | undefined> {
  const functionTools = input.agent.tools.filter((tool) => typeof tool !== 'string');
  if (functionTools.length === 0) return undefined;
  let tools: AgentTool[];
  try {
    tools = openToolSecrets(input.agent.tools, deps.tools.secrets);
  } catch (error) {
    if (error instanceof SecretBoxError || error instanceof ToolSecretsKeyMissingError) {
      throw new RunFailedError({ code: 'configuration_error', message: `${stepLabel(input.stepIndex)}: the MCP server headers cannot be read: ${error.message}`, step: input.stepIndex });
    }
    throw error;
  }
  try {
    return await openToolbox(tools, { http: deps.tools.http, mcp: deps.tools.mcp, signal: input.signal });
  } catch (error) {
    if (error instanceof McpConnectionError) {
      throw new RunFailedError({ code: 'tool_error', message: `${stepLabel(input.stepIndex)}: ${error.message}`, step: input.stepIndex });
    }
    throw error;
  }
}

/** Asks the model for the next turn and records it before any of its tool calls runs. */
async function requestTurn(
  deps: AgentLoopDeps,
  input: AgentLoopInput,
  turnNumber: number,
  messages: ChatMessage[],
  tools: Toolbox['tools'],
  checkState: (state: RunState | undefined) => void,
  earlierTurns: readonly TurnRecord[],
): Promise<{ turn: TurnRecord; failedAttempts: FailedAttempt[] }> {
  const { agent, budget } = input;
  const answer = await callModel(deps, {
    runId: input.runId,
    stepIndex: input.stepIndex,
    turn: turnNumber,
    resolved: input.resolved,
    ...(input.fallbacks ? { fallbacks: input.fallbacks } : {}),
    // Each turn is a model call: it must fit in what the run and this step's earlier turns left.
    ...(budget ? { budget: { maxCostUsd: budget.maxCostUsd, spentSoFar: addCosts([budget.spentSoFar, ...earlierTurns.map((turn) => turn.cost)]) } } : {}),
    ...(earlierTurns.length > 0 ? { stepSoFar: usageOfTurns(earlierTurns) } : {}),
    request: {
      ...(agent.systemPrompt ? { system: agent.systemPrompt } : {}),
      messages: [...messages],
      ...(tools.length > 0 ? { tools } : {}),
      ...(agent.outputSchema ? { outputSchema: agent.outputSchema } : {}),
      ...(agent.maxTokens !== null ? { maxTokens: agent.maxTokens } : {}),
      ...(agent.temperature !== null ? { temperature: agent.temperature } : {}),
      ...(agent.cacheSystemPrompt ? { cacheSystemPrompt: true } : {}),
    },
    events: input.events,
    signal: input.signal,
  });
  const { result } = answer;
  const message = postgresSafeJson(result.message ?? { role: 'assistant', content: result.text });
  const turn: TurnRecord = {
    turn: turnNumber,
    provider: answer.provider,
    model: answer.model,
    message: message.value as ChatMessage,
    stopReason: result.stopReason,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    cacheReadTokens: result.usage.cacheReadTokens ?? 0,
    cacheWriteTokens: result.usage.cacheWriteTokens ?? 0,
    cost: answer.cost,
    warnings: [...answer.warnings, ...(message.replaced ? [unstorableWarning] : [])],
    firstTokenMs: answer.firstTokenMs,
    calledAt: answer.calledAt,
    finishedAt: input.now(),
  };
  checkState(await untilWritten(() => deps.store.recordTurn(input.runId, input.stepIndex, turn), input.signal, deps.logger));
  return { turn, failedAttempts: answer.failedAttempts };
}

/** What finished turns used and cost, summed exactly (as the step's sums are: turns without a known price add nothing). */
function usageOfTurns(turns: readonly TurnRecord[]): { usage: Usage; cost: string | null } {
  return {
    usage: addUsage(turns),
    cost: turns.some((turn) => turn.cost !== null) ? addCosts(turns.map((turn) => turn.cost)) : null,
  };
}

const unstorableWarning = 'the answer held characters Postgres cannot store (U+0000 or lone surrogates); they were replaced with U+FFFD';

/**
 * Runs a turn's tool calls in parallel, except those a previous attempt finished (their
 * recorded results are used). Each result is written as it arrives. Waits for every call
 * before returning or throwing, so no tool runs on after the step has moved on.
 */
async function runToolCalls(
  deps: AgentLoopDeps,
  input: AgentLoopInput,
  toolbox: Toolbox | undefined,
  turn: number,
  calls: ToolCall[],
  finished: ToolCallRecord[],
  checkState: (state: RunState | undefined) => void,
): Promise<ToolCallRecord[]> {
  const done = new Map(finished.map((record) => [record.position, record]));
  const outcomes = await Promise.allSettled(
    calls.map(async (call, position): Promise<ToolCallRecord> => {
      const previous = done.get(position);
      if (previous) return previous;
      const toolInput = postgresSafeJson(call.input ?? {}).value;
      void input.events.emit('step.tool_call', { index: input.stepIndex, turn, toolCallId: call.id, name: call.name, input: toolInput });
      const result: ToolResult = toolbox
        ? await toolbox.call(call, { runId: input.runId, stepIndex: input.stepIndex, toolCallId: call.id, signal: input.signal })
        : { output: `there is no tool named ${call.name}`, isError: true, warnings: [], attempts: 0, durationMs: 0 };
      const output = postgresSafeText(result.output);
      const json = result.json === undefined ? undefined : postgresSafeJson(result.json).value;
      const record: ToolCallRecord = {
        turn,
        position,
        toolCallId: call.id,
        name: call.name,
        input: toolInput,
        output: output.text,
        ...(json === undefined ? {} : { outputJson: json }),
        isError: result.isError,
        durationMs: result.durationMs,
        warnings: [...result.warnings, ...(output.replaced ? [`the result of tool ${call.name} held characters Postgres cannot store; they were replaced with U+FFFD`] : [])],
        finishedAt: input.now(),
      };
      const state = await untilWritten(() => deps.store.recordToolCall(input.runId, input.stepIndex, record), input.signal, deps.logger);
      void input.events.emit('step.tool_result', {
        index: input.stepIndex,
        turn,
        toolCallId: call.id,
        output: json ?? record.output,
        isError: record.isError,
        durationMs: record.durationMs,
      });
      checkState(state);
      return record;
    }),
  );
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return outcomes.map((outcome) => (outcome as PromiseFulfilledResult<ToolCallRecord>).value);
}

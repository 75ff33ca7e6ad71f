import { addCosts, cacheSavings } from '../catalog/cost.ts';
import type {
  ArtifactModel as Artifact,
  ArtifactVersionModel as ArtifactVersion,
  RunModel as Run,
  RunStepModel as RunStep,
  RunStepTurnModel as RunStepTurn,
  RunToolCallModel as RunToolCall,
} from '../db/client.ts';
import { stepOutputValue } from './step-output.ts';
import type { ApprovalDecision, ApprovalSettings } from './engine/approval-types.ts';

/** A Prisma `Decimal` (or null): rendered as a plain decimal string, never in exponent form. */
type DecimalLike = { toFixed(): string } | null;

export interface UsageJson {
  inputTokens: number;
  outputTokens: number;
}

/** A step's usage: plain input, output, and the prompt tokens read from and written to the provider's cache. */
export interface StepUsageJson extends UsageJson {
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface RunErrorJson {
  code: string;
  message: string;
  step?: number;
  validationErrors?: string[];
  /** `budget_exceeded`: the budget, what was spent, the next call's worst case and what was left (USD). */
  budget?: string;
  spentSoFar?: string;
  worstCase?: string;
  remaining?: string;
}

export interface ToolCallJson {
  id: string;
  name: string;
  input: unknown;
  /** JSON when the tool answered JSON, else its text. */
  output: unknown;
  isError: boolean;
  durationMs: number;
}

/** One model turn of a step (1-based `turn`) with the tool calls it asked for that have finished. */
export interface TurnJson {
  turn: number;
  usage: UsageJson;
  cost: string | null;
  /** Milliseconds from the turn's request to its first streamed token; null when unknown. */
  timeToFirstTokenMs: number | null;
  toolCalls: ToolCallJson[];
  finishedAt: string;
}

/** A model call that failed after its retries before a fallback model answered. */
export interface FailedAttemptJson {
  provider: string;
  model: string;
  kind: string;
  message: string;
  at: string;
}

export interface RunStepJson {
  index: number;
  type: 'agent' | 'approval';
  /** Null for an approval step. */
  agentId: string | null;
  provider: string | null;
  model: string | null;
  status: RunStep['status'];
  /** The text, or the JSON value of a structured answer. */
  output?: unknown;
  usage: StepUsageJson;
  cost: string | null;
  /** What prompt caching saved on this step (USD; negative when cache writes cost more than reads saved); null: no known price. */
  cacheSavings: string | null;
  warnings: string[];
  /** Models that failed before `model` answered (fallbacks). */
  failedAttempts: FailedAttemptJson[];
  /** When the answering model call was made: its price and its spend day. */
  calledAt: string | null;
  /** Milliseconds from the step's first model request to its first streamed token (text or tool-call arguments); null when unknown. */
  timeToFirstTokenMs: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Every model turn (a step without tools has one); present when the run was loaded with them. */
  turns?: TurnJson[];
  /** An approval step's instructions, from the run's snapshot. */
  instructions?: string;
  /** An approval step's decision: who, when, the comment. */
  decision?: ApprovalDecision;
  /** Copied from the parent run by a branch: no provider call, cost "0". */
  reused?: true;
}

/** The JSON of `GET /v1/runs/:id`, also the `data` of run webhooks. Optional fields are absent, not null. */
export interface RunJson {
  id: string;
  pipelineId: string;
  status: Run['status'];
  input: unknown;
  output?: unknown;
  error?: RunErrorJson;
  metadata?: unknown;
  steps: RunStepJson[];
  usage: UsageJson;
  cost: string | null;
  /** What prompt caching saved over the run's steps (USD); null when no step has a known price. */
  cacheSavings: string | null;
  /** The run's budget in USD; null: none. */
  maxCostUsd: string | null;
  artifactId?: string;
  createdAt: string;
  /** When a delayed or scheduled run is (or was) due. */
  scheduledFor?: string;
  /** The schedule that made the run. */
  scheduleId?: string;
  startedAt?: string;
  finishedAt?: string;
  /** While the run waits at an approval step. */
  waiting?: { index: number; since: string; timeoutAt?: string };
  /** A branch: the run it was branched from and the step from which it differs. */
  parentRunId?: string;
  branchedFromStep?: number;
}

export interface ArtifactJson {
  id: string;
  runId: string;
  pipelineId: string;
  pipelineName: string;
  /** The latest version's data. */
  data: unknown;
  /** 1 (as the run wrote it) until the first edit; each edit adds one. */
  version: number;
  cost: string | null;
  currency: string;
  usage: UsageJson;
  models: string[];
  createdAt: string;
  durationMs: number;
}

export type StepWithTurns = RunStep & { turns?: (RunStepTurn & { toolCalls: RunToolCall[] })[] };
export type RunWithSteps = Run & { steps: StepWithTurns[]; artifact?: { id: string } | null };

const decimal = (value: DecimalLike): string | null => (value === null ? null : value.toFixed());
const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

function serializeTurns(step: StepWithTurns): TurnJson[] {
  const turns = step.turns ?? [];
  // A step without tools or output schema records no turns: its one call is the step itself.
  if (turns.length === 0 && step.status === 'succeeded' && step.finishedAt) {
    return [
      {
        turn: 1,
        usage: { inputTokens: step.inputTokens, outputTokens: step.outputTokens },
        cost: decimal(step.cost),
        timeToFirstTokenMs: step.firstTokenMs,
        toolCalls: [],
        finishedAt: step.finishedAt.toISOString(),
      },
    ];
  }
  return [...turns]
    .sort((a, b) => a.turn - b.turn)
    .map((turn) => ({
      turn: turn.turn,
      usage: { inputTokens: turn.inputTokens, outputTokens: turn.outputTokens },
      cost: decimal(turn.cost),
      timeToFirstTokenMs: turn.firstTokenMs,
      toolCalls: [...turn.toolCalls]
        .sort((a, b) => a.position - b.position)
        .map((call) => ({
          id: call.toolCallId,
          name: call.name,
          input: call.input,
          output: call.outputJson ?? call.output,
          isError: call.isError,
          durationMs: call.durationMs,
        })),
      finishedAt: turn.finishedAt.toISOString(),
    }));
}

/** An approval step's settings as the run's snapshot holds them. */
function approvalSettings(snapshot: unknown, index: number): ApprovalSettings | undefined {
  const steps = (snapshot as { steps?: { index: number; approval?: ApprovalSettings | null }[] } | null)?.steps;
  return steps?.find((step) => step.index === index)?.approval ?? undefined;
}

export function serializeRunStep(step: StepWithTurns, snapshot: unknown = null): RunStepJson {
  const instructions = step.type === 'approval' ? approvalSettings(snapshot, step.index)?.instructions : undefined;
  return {
    index: step.index,
    type: step.type,
    agentId: step.agentId,
    provider: step.provider,
    model: step.model,
    status: step.status,
    ...(step.output === null ? {} : { output: stepOutputValue(step) }),
    usage: { inputTokens: step.inputTokens, outputTokens: step.outputTokens, cacheReadTokens: step.cacheReadTokens, cacheWriteTokens: step.cacheWriteTokens },
    cost: decimal(step.cost),
    cacheSavings: savingsOf(step),
    warnings: step.warnings,
    failedAttempts: (step.failedAttempts ?? []) as unknown as FailedAttemptJson[],
    calledAt: iso(step.calledAt),
    timeToFirstTokenMs: step.firstTokenMs,
    startedAt: iso(step.startedAt),
    finishedAt: iso(step.finishedAt),
    ...(step.turns ? { turns: serializeTurns(step) } : {}),
    ...(instructions ? { instructions } : {}),
    ...(step.decision === null ? {} : { decision: step.decision as unknown as ApprovalDecision }),
    ...(step.reused ? { reused: true as const } : {}),
  };
}

/** Priced at the time of the step's answering call, as its cost was. */
function savingsOf(step: RunStep): string | null {
  const at = step.calledAt ?? step.startedAt;
  if (!step.provider || !step.model || !at || step.status !== 'succeeded') return null;
  return cacheSavings(`${step.provider}:${step.model}`, step, at);
}

export function serializeRun(run: RunWithSteps): RunJson {
  const steps = [...run.steps].sort((a, b) => a.index - b.index);
  const savings = steps.map(savingsOf).filter((saved): saved is string => saved !== null);
  return {
    id: run.id,
    pipelineId: run.pipelineId,
    status: run.status,
    input: run.input,
    ...(run.output === null ? {} : { output: run.output }),
    ...(run.error === null ? {} : { error: run.error as unknown as RunErrorJson }),
    ...(run.metadata === null ? {} : { metadata: run.metadata }),
    steps: steps.map((step) => serializeRunStep(step, run.snapshot)),
    usage: { inputTokens: run.inputTokens, outputTokens: run.outputTokens },
    cost: decimal(run.cost),
    cacheSavings: savings.length > 0 ? addCosts(savings) : null,
    maxCostUsd: decimal(run.maxCostUsd),
    ...(run.artifact ? { artifactId: run.artifact.id } : {}),
    createdAt: run.createdAt.toISOString(),
    ...(run.scheduledFor ? { scheduledFor: run.scheduledFor.toISOString() } : {}),
    ...(run.scheduleId ? { scheduleId: run.scheduleId } : {}),
    ...(run.startedAt ? { startedAt: run.startedAt.toISOString() } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt.toISOString() } : {}),
    ...waitingOf(run, steps),
    ...(run.parentRunId === null ? {} : { parentRunId: run.parentRunId }),
    ...(run.branchedFromStep === null ? {} : { branchedFromStep: run.branchedFromStep }),
  };
}

function waitingOf(run: RunWithSteps, steps: RunStep[]): Pick<RunJson, 'waiting'> {
  const step = run.status === 'waiting' ? steps.find((candidate) => candidate.status === 'waiting') : undefined;
  if (!step) return {};
  const since = run.waitingSince ?? step.startedAt ?? run.updatedAt;
  return { waiting: { index: step.index, since: since.toISOString(), ...(run.waitingUntil ? { timeoutAt: run.waitingUntil.toISOString() } : {}) } };
}

/** An artifact with its latest edit, if any (see `artifactInclude`). */
export type ArtifactWithLatest = Artifact & { versions?: Pick<ArtifactVersion, 'version' | 'data'>[] };

export function serializeArtifact(artifact: ArtifactWithLatest): ArtifactJson {
  const latest = artifact.versions?.find((edit) => edit.version === artifact.version);
  return {
    id: artifact.id,
    runId: artifact.runId,
    pipelineId: artifact.pipelineId,
    pipelineName: artifact.pipelineName,
    data: latest ? latest.data : artifact.artifactData,
    version: artifact.version,
    cost: decimal(artifact.cost),
    currency: artifact.currency,
    usage: { inputTokens: artifact.inputTokens, outputTokens: artifact.outputTokens },
    models: artifact.models,
    createdAt: artifact.createdAt.toISOString(),
    durationMs: artifact.durationMs,
  };
}

/** The Prisma `include` that loads what `serializeArtifact` needs: the latest edit. */
export const artifactInclude = { versions: { orderBy: { version: 'desc' }, take: 1, select: { version: true, data: true } } } as const;

/** The Prisma `include` that loads what `serializeRun` needs: the whole run, every step's turns and tool calls included. */
export const runInclude = {
  steps: { orderBy: { index: 'asc' }, include: { turns: { orderBy: { turn: 'asc' }, include: { toolCalls: { orderBy: { position: 'asc' } } } } } },
  artifact: { select: { id: true } },
} as const;

/** The same for lists of runs: steps without their turns. */
export const runListInclude = { steps: { orderBy: { index: 'asc' } }, artifact: { select: { id: true } } } as const;

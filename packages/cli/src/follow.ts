import type { ApiClient } from './client.ts';
import { formatCost, formatUsage } from './format.ts';
import { runEvents, type RunStreamEvent } from './sse.ts';
import { styleFor } from './style.ts';

export type FinalStatus = 'succeeded' | 'failed' | 'canceled' | 'unknown';

export interface FollowResult {
  status: FinalStatus;
  artifactId?: string;
  cost?: string | null;
  error?: { code: string; message: string; step?: number };
}

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Follows a run's event stream until it ends: as NDJSON, or as a progress display for people. */
export async function followRun(
  client: ApiClient,
  runId: string,
  options: { out: Output; json?: boolean; signal?: AbortSignal },
): Promise<FollowResult> {
  const display = options.json ? jsonLines(options.out) : progressDisplay(options.out, runId);
  let result: FollowResult = { status: 'unknown' };
  for await (const event of runEvents(client, runId, options.signal)) {
    display(event);
    result = resultOf(event) ?? result;
  }
  return result;
}

function resultOf(event: RunStreamEvent): FollowResult | undefined {
  const data = event.data;
  if (event.type === 'run.succeeded') {
    return { status: 'succeeded', artifactId: data.artifactId as string | undefined, cost: data.cost as string | null };
  }
  if (event.type === 'run.failed') return { status: 'failed', error: data.error as FollowResult['error'] };
  if (event.type === 'run.canceled') return { status: 'canceled' };
  return undefined;
}

function jsonLines(out: Output) {
  return (event: RunStreamEvent) => out.write(`${JSON.stringify(event)}\n`);
}

/** One line of a tool call's input or result. */
const clip = (text: string, max = 160) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** Steps starting, their text as it streams, tool calls and their results, per-step tokens and cost, and the final status. */
export function progressDisplay(out: Output, runId: string) {
  const style = styleFor(out);
  let atLineStart = true;
  const line = (text: string) => {
    out.write(`${atLineStart ? '' : '\n'}${text}\n`);
    atLineStart = true;
  };
  const stream = (text: string) => {
    const indented = text.replace(/\r?\n/g, '\n    ');
    out.write(`${atLineStart ? '    ' : ''}${style.dim(indented)}`);
    atLineStart = text.endsWith('\n');
  };

  return (event: RunStreamEvent) => {
    const data = event.data;
    const step = typeof data.index === 'number' ? `step ${data.index + 1}` : 'step';
    switch (event.type) {
      case 'run.started':
        return line(`${style.cyan('●')} run ${style.bold(runId)} started`);
      case 'step.started':
        return line(`${style.cyan('▶')} ${step} · ${String(data.provider)} · ${style.bold(String(data.model))}`);
      case 'step.delta':
        return stream(String(data.text ?? ''));
      case 'step.retry':
        // The text streamed so far for this step is void: the retried call streams it anew.
        return line(`  ${style.yellow('↻')} ${step}: retrying (attempt ${String(data.attempt)}) after ${String(data.reason)}; its text so far is discarded`);
      case 'step.warning':
        return line(`  ${style.yellow('!')} ${step}: ${String(data.message)}`);
      case 'step.tool_call':
        return line(`  ${style.cyan('→')} ${step} turn ${String(data.turn)}: ${style.bold(String(data.name))} ${clip(JSON.stringify(data.input ?? {}))}`);
      case 'step.tool_result': {
        const output = typeof data.output === 'string' ? data.output : JSON.stringify(data.output);
        const mark = data.isError ? style.red('✘ error') : style.green('←');
        return line(`  ${mark} ${step} turn ${String(data.turn)}: ${clip(output ?? '')} ${style.dim(`(${String(data.durationMs)} ms)`)}`);
      }
      case 'step.completed':
        return line(`  ${style.green('✓')} ${step} done · ${formatUsage(data.usage)} · ${formatCost(data.cost, data.usage)}`);
      case 'run.succeeded':
        return line(
          `${style.green('✔')} run ${style.bold('succeeded')} · ${formatUsage(data.usage)} · total ${style.bold(formatCost(data.cost, data.usage))}` +
            (data.artifactId ? ` · artifact ${String(data.artifactId)}` : ''),
        );
      case 'run.failed': {
        const error = (data.error ?? {}) as { code?: string; message?: string; step?: number };
        const where = typeof error.step === 'number' ? ` at step ${error.step + 1}` : '';
        return line(`${style.red('✘')} run ${style.bold('failed')}${where}: ${error.code ?? 'error'}: ${error.message ?? ''}`);
      }
      case 'run.canceled':
        return line(`${style.yellow('■')} run ${style.bold('canceled')}`);
      case 'run.waiting':
        return line(`${style.yellow('⏸')} ${step} waits for an approval: conveyor runs approve ${runId} [--output …] | conveyor runs reject ${runId}`);
      default:
        return undefined;
    }
  };
}

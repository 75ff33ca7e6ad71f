import { describe, expect, it } from 'vitest';
import { progressDisplay } from './follow.ts';

function render(events: { type: string; data: Record<string, unknown> }[]): string {
  let text = '';
  const show = progressDisplay({ write: (chunk: string) => (text += chunk), isTTY: false }, 'run_1');
  for (const [position, event] of events.entries()) show({ id: String(position + 1), ...event });
  return text;
}

describe('progressDisplay', () => {
  it('shows each tool call with its input, and its result or error with the time it took', () => {
    const text = render([
      { type: 'step.started', data: { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' } },
      { type: 'step.tool_call', data: { index: 0, turn: 1, toolCallId: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } } },
      { type: 'step.tool_call', data: { index: 0, turn: 1, toolCallId: 'toolu_2', name: 'lookup', input: { q: 'x' } } },
      { type: 'step.tool_result', data: { index: 0, turn: 1, toolCallId: 'toolu_1', output: { temp: 21 }, isError: false, durationMs: 42 } },
      { type: 'step.tool_result', data: { index: 0, turn: 1, toolCallId: 'toolu_2', output: 'the tool answered HTTP 500', isError: true, durationMs: 7 } },
    ]);
    expect(text).toContain('  → step 1 turn 1: get_weather {"city":"Paris"}');
    expect(text).toContain('  ← step 1 turn 1: {"temp":21} (42 ms)');
    expect(text).toContain('  ✘ error step 1 turn 1: the tool answered HTTP 500 (7 ms)');
  });

  it('shows steps starting, streamed text, per-step tokens and cost, and the total', () => {
    const text = render([
      { type: 'run.started', data: { runId: 'run_1' } },
      { type: 'step.started', data: { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' } },
      { type: 'step.delta', data: { index: 0, text: 'Hello ' } },
      { type: 'step.delta', data: { index: 0, text: 'world' } },
      { type: 'step.completed', data: { index: 0, output: 'Hello world', usage: { inputTokens: 12, outputTokens: 2 }, cost: '0.000022' } },
      { type: 'run.succeeded', data: { usage: { inputTokens: 12, outputTokens: 2 }, cost: '0.000022', artifactId: 'art_1' } },
    ]);
    expect(text).toBe(
      [
        '● run run_1 started',
        '▶ step 1 · anthropic · claude-haiku-4-5',
        '    Hello world',
        '  ✓ step 1 done · 12 in + 2 out tokens · $0.000022',
        '✔ run succeeded · 12 in + 2 out tokens · total $0.000022 · artifact art_1',
        '',
      ].join('\n'),
    );
  });

  it('indents multi-line output and reports warnings and failures with their step', () => {
    const text = render([
      { type: 'step.started', data: { index: 1, provider: 'openai', model: 'gpt-4o' } },
      { type: 'step.warning', data: { index: 1, message: 'web_search is not supported' } },
      { type: 'step.delta', data: { index: 1, text: 'line one\nline two' } },
      { type: 'run.failed', data: { error: { code: 'provider_error', message: 'Invalid request', step: 1 } } },
    ]);
    expect(text).toContain('  ! step 2: web_search is not supported');
    expect(text).toContain('    line one\n    line two\n');
    expect(text).toContain('✘ run failed at step 2: provider_error: Invalid request');
  });

  it('says that a step retried after streaming discards the text it streamed so far', () => {
    const text = render([
      { type: 'step.started', data: { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' } },
      { type: 'step.delta', data: { index: 0, text: 'Half an ans' } },
      { type: 'step.retry', data: { index: 0, attempt: 1, reason: 'connection dropped' } },
      { type: 'step.delta', data: { index: 0, text: 'A whole answer' } },
    ]);
    expect(text).toContain('    Half an ans\n  ↻ step 1: retrying (attempt 1) after connection dropped; its text so far is discarded\n    A whole answer');
  });

  it('says when the cost is unknown', () => {
    const text = render([{ type: 'step.completed', data: { index: 0, usage: { inputTokens: 1, outputTokens: 1 }, cost: null } }]);
    expect(text).toContain('cost unknown');
  });
});

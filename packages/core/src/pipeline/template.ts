/**
 * Step prompts. A step's template may name `{{input}}` (the run input), `{{previous}}` (the
 * previous step's output) and `{{steps.N.output}}` (step N's output, N 0-based), and reach
 * into JSON with a path: `{{input.a.b}}`, `{{previous.items.0}}`, `{{steps.1.output.score}}`.
 * A string renders as it is, any other JSON value as JSON text; a path that leads nowhere
 * renders as nothing. A path into a text output that is a JSON text reads that JSON. Without
 * a template the first step gets the input and each later step the previous step's output.
 */

import { parseJsonText } from '../json-schema/validate.ts';

export interface PromptContext {
  /** The run input as submitted (any JSON value). */
  input: unknown;
  /** The previous step's output (text, or the JSON value of a structured step); undefined for the first step. */
  previous: unknown;
  /** Every step's output by index, undefined for a step that has not succeeded (yet). */
  steps?: readonly unknown[];
}

const placeholder = /\{\{\s*(input|previous|steps\.(\d+)\.output)((?:\.[^\s.{}]+)*)\s*\}\}/g;

/** A JSON value as prompt text: strings as they are, anything else as indented JSON. */
export function inputAsText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input === undefined || input === null) return '';
  return JSON.stringify(input, null, 2);
}

/** Follows `path` (`.a.b.0`) into `value`; a string on the way is read as JSON when it is a JSON text. */
function follow(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.').slice(1)) {
    if (typeof current === 'string') {
      const parsed = parseJsonText(current);
      current = parsed.ok ? parsed.value : undefined;
    }
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export function renderPrompt(template: string | null | undefined, context: PromptContext): string {
  if (template === null || template === undefined || template === '') {
    return inputAsText(context.previous ?? context.input);
  }
  return template.replace(placeholder, (_, name: string, stepIndex: string | undefined, path: string) => {
    const root = name === 'input' ? context.input : name === 'previous' ? context.previous : context.steps?.[Number(stepIndex)];
    return inputAsText(path ? follow(root, path) : root);
  });
}

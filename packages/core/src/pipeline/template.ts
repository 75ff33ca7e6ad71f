/**
 * Step prompts. A step's template may name `{{input}}` (the run input) and
 * `{{previous}}` (the previous step's output). Without a template the first step
 * gets the input and each later step the previous step's output.
 */

export interface PromptContext {
  /** The run input as submitted (any JSON value). */
  input: unknown;
  /** The previous step's output; undefined for the first step. */
  previous: string | undefined;
}

const placeholder = /\{\{\s*(input|previous)\s*\}\}/g;

/** A JSON input as prompt text: strings as they are, anything else as indented JSON. */
export function inputAsText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (input === undefined || input === null) return '';
  return JSON.stringify(input, null, 2);
}

export function renderPrompt(template: string | null | undefined, context: PromptContext): string {
  if (template === null || template === undefined || template === '') {
    return context.previous ?? inputAsText(context.input);
  }
  return template.replace(placeholder, (_, name: 'input' | 'previous') =>
    name === 'input' ? inputAsText(context.input) : (context.previous ?? ''),
  );
}

import { describe, expect, it } from 'vitest';
import { renderPrompt } from './template.ts';

describe('step prompt templates', () => {
  it('gives the first step the input and later steps the previous output when there is no template', () => {
    expect(renderPrompt(null, { input: 'topic', previous: undefined })).toBe('topic');
    expect(renderPrompt(undefined, { input: 'topic', previous: 'draft' })).toBe('draft');
  });

  it('fills {{input}} and {{previous}}, tolerating spaces inside the braces', () => {
    expect(renderPrompt('Edit {{ previous }} about {{input}}', { input: 'cats', previous: 'a poem' })).toBe('Edit a poem about cats');
  });

  it('renders a JSON input as indented JSON and an absent previous output as empty', () => {
    expect(renderPrompt('{{input}}|{{previous}}', { input: { a: 1 }, previous: undefined })).toBe('{\n  "a": 1\n}|');
  });

  it('leaves unknown placeholders and replacement patterns in outputs alone', () => {
    expect(renderPrompt('{{other}} {{previous}}', { input: '', previous: '$& $1 {{input}}' })).toBe('{{other}} $& $1 {{input}}');
  });
});

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

  it('reaches into JSON: input, previous and any earlier step by index, arrays by position', () => {
    const context = { input: { user: { name: 'Ada' } }, previous: { score: 4, tags: ['x', 'y'] }, steps: [{ title: 'T' }, { score: 4, tags: ['x', 'y'] }] };
    expect(renderPrompt('{{input.user.name}} {{previous.score}} {{previous.tags.1}} {{steps.0.output.title}}', context)).toBe('Ada 4 y T');
  });

  it('renders a whole JSON value as JSON text and a path that leads nowhere as nothing', () => {
    const context = { input: 'plain', previous: { a: { b: [1, 2] } }, steps: [undefined, { a: 1 }] };
    expect(renderPrompt('{{previous.a}}', context)).toBe('{\n  "b": [\n    1,\n    2\n  ]\n}');
    expect(renderPrompt('[{{previous.missing}}][{{input.a}}][{{steps.0.output}}][{{steps.7.output.a}}]', context)).toBe('[][][][]');
    expect(renderPrompt(null, context)).toBe(JSON.stringify(context.previous, null, 2));
  });

  it('reads a text output that is a JSON text (fenced or not) when a path reaches into it', () => {
    expect(renderPrompt('{{previous.city}}', { input: '', previous: '```json\n{"city": "Lyon"}\n```' })).toBe('Lyon');
    expect(renderPrompt('{{previous.city}}', { input: '', previous: 'not json' })).toBe('');
  });
});

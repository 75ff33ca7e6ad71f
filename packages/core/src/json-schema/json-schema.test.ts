import { describe, expect, it } from 'vitest';
import { openAiStrictProblem } from './openai-strict.ts';
import { checkStructuredAnswer, jsonSchemaProblem, parseJsonText, repairInstruction, validateJson } from './validate.ts';

const person = {
  type: 'object',
  properties: { name: { type: 'string', minLength: 1 }, email: { type: 'string', format: 'email' }, tags: { type: 'array', items: { enum: ['a', 'b'] } } },
  required: ['name'],
  additionalProperties: false,
};

describe('validateJson', () => {
  it('accepts a valid value', () => {
    expect(validateJson({ name: 'Ada', email: 'ada@example.com', tags: ['a'] }, person)).toEqual({ valid: true });
  });

  it('lists every problem with where it is, in words a model can act on', () => {
    const result = validateJson({ name: '', email: 'nope', tags: ['c'], extra: 1 }, person);
    expect(result).toEqual({
      valid: false,
      errors: [
        "(root): must not have the property 'extra'",
        '/name: must NOT have fewer than 1 characters',
        '/email: must match format "email"',
        '/tags/0: must be one of "a", "b"',
      ],
    });
    expect(validateJson({}, person)).toEqual({ valid: false, errors: ["(root): must have required property 'name'"] });
  });

  it('follows the draft the schema declares', () => {
    const draft7 = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'array', items: [{ type: 'string' }], additionalItems: false };
    expect(validateJson(['a'], draft7)).toEqual({ valid: true });
    expect(validateJson(['a', 'b'], draft7).valid).toBe(false);
    const modern = { type: 'array', prefixItems: [{ type: 'string' }], items: false };
    expect(validateJson(['a', 'b'], modern).valid).toBe(false);
  });
});

describe('jsonSchemaProblem', () => {
  it('accepts a usable schema and explains an unusable one in one line', () => {
    expect(jsonSchemaProblem(person)).toBeNull();
    expect(jsonSchemaProblem({ type: 'strnig' })).toMatch(/^not a valid JSON Schema: .*type/);
    expect(jsonSchemaProblem({ $ref: '#/$defs/missing' })).toMatch(/^not a valid JSON Schema: .*missing/);
    expect(jsonSchemaProblem([])).toBe('a JSON Schema must be an object');
  });
});

describe('parseJsonText', () => {
  it('parses plain and fenced JSON and says why other text is not JSON', () => {
    expect(parseJsonText(' {"a":1} ')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('```json\n[1,2]\n```')).toEqual({ ok: true, value: [1, 2] });
    expect(parseJsonText('Sure! {"a":1}')).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
  });
});

describe('openAiStrictProblem', () => {
  const closed = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties), additionalProperties: false });

  it('accepts a closed schema with every property required, nested objects, anyOf, $defs and nullable types', () => {
    const schema = {
      ...closed({ name: { type: 'string' }, note: { type: ['string', 'null'] }, address: { $ref: '#/$defs/address' }, when: { anyOf: [{ type: 'string', format: 'date' }, { type: 'null' }] } }),
      $defs: { address: closed({ city: { type: 'string' } }) },
    };
    expect(openAiStrictProblem(schema)).toBeNull();
  });

  it.each([
    [{ type: 'array', items: { type: 'string' } }, "the root must be {type: 'object'}"],
    [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, '#: additionalProperties must be false'],
    [{ ...closed({ a: { type: 'string' } }), required: [] }, "#: the property 'a' must be required (make it nullable instead)"],
    [closed({ a: closed({ b: { type: 'object', properties: {} } }) }), '#/properties/a/properties/b: additionalProperties must be false'],
    [closed({ a: { type: 'string', minLength: 2 } }), "#/properties/a: the keyword 'minLength' is not supported"],
    [closed({ a: { allOf: [{ type: 'string' }] } }), "#/properties/a: the keyword 'allOf' is not supported"],
    [closed({ a: { type: 'string', format: 'uri' } }), "#/properties/a: the format 'uri' is not supported"],
  ])('refuses %j: %s', (schema, problem) => {
    expect(openAiStrictProblem(schema)).toBe(problem);
  });

  it('refuses nesting deeper than 10 levels', () => {
    let schema: Record<string, unknown> = closed({ leaf: { type: 'string' } });
    for (let i = 0; i < 10; i += 1) schema = closed({ next: schema });
    expect(openAiStrictProblem(schema)).toMatch(/nested deeper than 10 levels/);
  });
});

describe('checkStructuredAnswer', () => {
  it('gives the value of a valid answer, else the errors for the repair turn', () => {
    expect(checkStructuredAnswer('{"name":"Ada"}', person)).toEqual({ ok: true, value: { name: 'Ada' } });
    expect(checkStructuredAnswer('{"name":""}', person)).toEqual({ ok: false, errors: ['/name: must NOT have fewer than 1 characters'] });
    expect(checkStructuredAnswer('not json', person)).toMatchObject({ ok: false, errors: [expect.stringMatching(/^\(root\): the answer is not valid JSON/)] });
    expect(repairInstruction(['/name: must NOT have fewer than 1 characters'])).toBe(
      'Your answer does not match the required JSON Schema:\n- /name: must NOT have fewer than 1 characters\nAnswer again with only the corrected JSON value.',
    );
  });
});

/** JSON Schema checks with ajv: is a schema usable, and is a value valid for it (errors a model can read). */

import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { JsonSchema } from '../providers/types.ts';

/**
 * ajv loads with the first schema it compiles (about 200 ms and 10 MB), so a process
 * that never validates never holds it; `require` keeps validation synchronous.
 */
const require = createRequire(import.meta.url);
type AjvClass = new (options: object) => Ajv;

export type JsonValidation = { valid: true } | { valid: false; errors: string[] };

/** Draft-07 and older when `$schema` says so; 2019-09 likewise; otherwise 2020-12. */
function dialectOf(schema: JsonSchema): 'draft-07' | '2019-09' | '2020-12' {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (/draft-0[4-7]/.test(declared)) return 'draft-07';
  if (declared.includes('2019-09')) return '2019-09';
  return '2020-12';
}

function makeAjv(dialect: ReturnType<typeof dialectOf>): Ajv {
  // strict: false — schemas written for other tools carry annotations ajv does not know (x-*, examples...).
  const options = { allErrors: true, strict: false, validateFormats: true } as const;
  const module = dialect === 'draft-07' ? 'ajv' : dialect === '2019-09' ? 'ajv/dist/2019.js' : 'ajv/dist/2020.js';
  const AjvDialect = require(module) as AjvClass;
  const ajv = new AjvDialect(options);
  (require('ajv-formats') as (ajv: Ajv) => Ajv)(ajv);
  return ajv;
}

const instances = new Map<string, Ajv>();
const ajvFor = (dialect: ReturnType<typeof dialectOf>) => {
  let ajv = instances.get(dialect);
  if (!ajv) instances.set(dialect, (ajv = makeAjv(dialect)));
  return ajv;
};

/** Compiled validators by schema text; bounded so a stream of distinct schemas cannot grow memory. */
const compiled = new Map<string, ValidateFunction>();
const maxCompiled = 500;

export class InvalidJsonSchemaError extends Error {
  override name = 'InvalidJsonSchemaError';
}

function compile(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  let validate: ValidateFunction;
  try {
    // An `$id` would be registered globally in the ajv instance; compile a copy without it.
    const { $id: _id, ...anonymous } = schema;
    validate = ajvFor(dialectOf(schema)).compile(anonymous);
  } catch (error) {
    throw new InvalidJsonSchemaError(`not a valid JSON Schema: ${(error as Error).message}`);
  }
  if (compiled.size >= maxCompiled) compiled.delete(compiled.keys().next().value as string);
  compiled.set(key, validate);
  return validate;
}

/** Null when `schema` is a usable JSON Schema object, else why not (one line). */
export function jsonSchemaProblem(schema: unknown): string | null {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return 'a JSON Schema must be an object';
  try {
    compile(schema as JsonSchema);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function describe(error: ErrorObject): string {
  const at = error.instancePath || '(root)';
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') return `${at}: must not have the property '${String(params.additionalProperty)}'`;
  if (error.keyword === 'enum' && Array.isArray(params.allowedValues)) return `${at}: must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${at}: ${error.message ?? error.keyword}`;
}

/** Validates `value` against `schema`; errors read like `/score: must be >= 3`. Throws InvalidJsonSchemaError for a bad schema. */
export function validateJson(value: unknown, schema: JsonSchema): JsonValidation {
  const validate = compile(schema);
  if (validate(value)) return { valid: true };
  return { valid: false, errors: [...new Set((validate.errors ?? []).map(describe))] };
}

export type ParsedJsonText = { ok: true; value: unknown } | { ok: false; error: string };

/** Parses a model's JSON answer, tolerating a Markdown code fence around it. */
export function parseJsonText(text: string): ParsedJsonText {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(trimmed);
  try {
    return { ok: true, value: JSON.parse(fenced ? fenced[1]! : trimmed) };
  } catch (error) {
    return { ok: false, error: `(root): the answer is not valid JSON (${(error as Error).message})` };
  }
}

export type StructuredAnswer = { ok: true; value: unknown } | { ok: false; errors: string[] };

/** A structured answer's text, parsed and validated: the value, or the errors for the repair turn (or `invalid_output`). */
export function checkStructuredAnswer(text: string, schema: JsonSchema): StructuredAnswer {
  const parsed = parseJsonText(text);
  if (!parsed.ok) return { ok: false, errors: [parsed.error] };
  const validation = validateJson(parsed.value, schema);
  return validation.valid ? { ok: true, value: parsed.value } : { ok: false, errors: validation.errors };
}

/** The user message of the one repair turn: what was wrong, and what to send instead. */
export function repairInstruction(errors: string[]): string {
  return [
    'Your answer does not match the required JSON Schema:',
    ...errors.map((error) => `- ${error}`),
    'Answer again with only the corrected JSON value.',
  ].join('\n');
}

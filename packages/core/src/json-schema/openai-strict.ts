/**
 * Whether a JSON Schema meets OpenAI's strict Structured Outputs rules: the root is an
 * object (not anyOf), every object has `additionalProperties: false` and lists all its
 * properties in `required`, only supported keywords appear, at most 10 levels of nesting
 * and 5000 properties. A schema that does not is sent with `strict: false` (still honoured
 * as a hint; the answer is validated either way).
 */

import type { JsonSchema } from '../providers/types.ts';

const supportedKeywords = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  '$ref',
  '$defs',
  'definitions',
  'description',
  'title',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);

const supportedFormats = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);
const maxDepth = 10;
const maxProperties = 5000;

const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

/** Null when `schema` may be sent with `strict: true`, else the first rule it breaks. */
export function openAiStrictProblem(schema: JsonSchema): string | null {
  if (schema.type !== 'object') return "the root must be {type: 'object'}";
  let properties = 0;

  function visit(node: unknown, path: string, depth: number): string | null {
    if (!isObject(node)) return `${path}: a schema must be an object`;
    if (depth > maxDepth) return `${path}: nested deeper than ${maxDepth} levels`;
    for (const key of Object.keys(node)) {
      if (!supportedKeywords.has(key)) return `${path}: the keyword '${key}' is not supported`;
    }
    if (typeof node.format === 'string' && !supportedFormats.has(node.format)) return `${path}: the format '${node.format}' is not supported`;
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (types.includes('object') || isObject(node.properties)) {
      if (node.additionalProperties !== false) return `${path}: additionalProperties must be false`;
      const keys = Object.keys(isObject(node.properties) ? node.properties : {});
      properties += keys.length;
      if (properties > maxProperties) return `more than ${maxProperties} properties`;
      const required = new Set(Array.isArray(node.required) ? node.required : []);
      const optional = keys.find((key) => !required.has(key));
      if (optional !== undefined) return `${path}: the property '${optional}' must be required (make it nullable instead)`;
      for (const key of keys) {
        const problem = visit((node.properties as Record<string, unknown>)[key], `${path}/properties/${key}`, depth + 1);
        if (problem) return problem;
      }
    }
    if (node.items !== undefined) {
      const problem = visit(node.items, `${path}/items`, depth + 1);
      if (problem) return problem;
    }
    if (node.anyOf !== undefined) {
      if (!Array.isArray(node.anyOf)) return `${path}: anyOf must be a list`;
      for (const [i, variant] of node.anyOf.entries()) {
        const problem = visit(variant, `${path}/anyOf/${i}`, depth + 1);
        if (problem) return problem;
      }
    }
    for (const key of ['$defs', 'definitions'] as const) {
      const defs = node[key];
      if (defs === undefined) continue;
      if (!isObject(defs)) return `${path}/${key}: must be an object`;
      for (const [name, def] of Object.entries(defs)) {
        const problem = visit(def, `${path}/${key}/${name}`, depth);
        if (problem) return problem;
      }
    }
    return null;
  }

  return visit(schema, '#', 0);
}

export const isOpenAiStrictCompatible = (schema: JsonSchema): boolean => openAiStrictProblem(schema) === null;

/** Values made up from a JSON Schema: a valid one for structured replies and tool inputs, or a deliberately invalid one. */

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema => !!value && typeof value === 'object' && !Array.isArray(value);

const sampleStrings: Record<string, string> = {
  'date-time': '2026-01-01T00:00:00Z',
  date: '2026-01-01',
  time: '00:00:00Z',
  email: 'someone@example.com',
  uri: 'https://example.com/',
  url: 'https://example.com/',
  uuid: '00000000-0000-4000-8000-000000000000',
  hostname: 'example.com',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  duration: 'P1D',
};

function resolveRef(ref: string, root: Schema): Schema {
  const path = ref.replace(/^#\/?/, '').split('/').filter(Boolean);
  let node: unknown = root;
  for (const key of path) node = isSchema(node) ? node[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return isSchema(node) ? node : {};
}

function firstType(schema: Schema): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return (type.find((t) => t !== 'null') ?? type[0]) as string | undefined;
  if (isSchema(schema.properties)) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

function sampleNumber(schema: Schema, integer: boolean): number {
  const minimum = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : undefined;
  const maximum = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1 : undefined;
  let value = minimum ?? (maximum !== undefined && maximum < 1 ? maximum : 1);
  if (integer) value = Math.ceil(value);
  return value;
}

/** A value valid for `schema` (the common keywords; exotic constraints are not honoured). */
export function sampleFromSchema(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (!isSchema(schema) || depth > 12) return null;
  const rootSchema = isSchema(root) ? root : {};
  if (typeof schema.$ref === 'string') return sampleFromSchema(resolveRef(schema.$ref, rootSchema), root, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const variants = schema[key];
    if (Array.isArray(variants) && variants.length > 0) {
      if (key === 'allOf') return Object.assign({}, ...variants.map((v) => sampleFromSchema(v, root, depth + 1)));
      return sampleFromSchema(variants[0], root, depth + 1);
    }
  }
  switch (firstType(schema)) {
    case 'object': {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, sampleFromSchema(value, root, depth + 1)]));
    }
    case 'array': {
      const count = Math.max(1, typeof schema.minItems === 'number' ? schema.minItems : 1);
      const items = Array.isArray(schema.prefixItems) ? schema.prefixItems : undefined;
      return Array.from({ length: count }, (_, i) => sampleFromSchema(items?.[i] ?? schema.items, root, depth + 1));
    }
    case 'string': {
      const base = (typeof schema.format === 'string' && sampleStrings[schema.format]) || 'example';
      const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
      return base.padEnd(minLength, 'x').slice(0, maxLength);
    }
    case 'integer':
      return sampleNumber(schema, true);
    case 'number':
      return sampleNumber(schema, false);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** A value of the wrong type for `schema`, so validation fails whatever the schema's details. */
export function invalidForSchema(schema: unknown): unknown {
  const type = isSchema(schema) ? firstType(schema) : undefined;
  return type === 'string' ? 42 : 'this value does not match the schema';
}

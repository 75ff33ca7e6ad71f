import { z } from 'zod';

/** What a value must be, in words, for zod's `expected` types. */
const kinds: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  date: 'a date',
  bigint: 'a whole number',
};

const plural = (n: number | bigint, word: string) => `${n} ${word}${Number(n) === 1 ? '' : 's'}`;

type RawIssue = z.core.$ZodRawIssue;

/**
 * Validation messages in the product's words ("required", "must be at most 200 characters"),
 * not the library's ("Invalid input: expected string, received undefined"). The field's path
 * is put in front of them where they are shown ("body.name: required"). Messages a schema
 * gives itself (refinements) are kept.
 */
export function productMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      if (issue.input === null) return 'must not be null';
      return `must be ${kinds[issue.expected] ?? issue.expected}`;
    case 'too_small': {
      const minimum = issue.minimum as number | bigint;
      if (issue.origin === 'string') return Number(minimum) === 1 ? 'must not be empty' : `must be at least ${plural(minimum, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set') return `needs at least ${plural(minimum, 'item')}`;
      return issue.inclusive === false ? `must be greater than ${minimum}` : `must be at least ${minimum}`;
    }
    case 'too_big': {
      const maximum = issue.maximum as number | bigint;
      if (issue.origin === 'string') return `must be at most ${plural(maximum, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set') return `takes at most ${plural(maximum, 'item')}`;
      return issue.inclusive === false ? `must be less than ${maximum}` : `must be at most ${maximum}`;
    }
    case 'invalid_value':
      if (issue.input === undefined) return 'required';
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.map((value: unknown) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'must be a URL';
      if (issue.format === 'regex') return 'has the wrong format';
      return `must be a valid ${issue.format}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'}: ${issue.keys.join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_union':
      return 'does not match any accepted form';
    default:
      return undefined;
  }
}

z.config({ customError: productMessage });

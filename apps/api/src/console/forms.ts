import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError } from '../errors.ts';

export type FormData = Record<string, string | string[]>;

/** The posted form, every field as a string or (repeated fields) an array of strings; files are ignored. */
export async function readForm(c: Context): Promise<FormData> {
  const body = await c.req.parseBody({ all: true });
  const form: FormData = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') form[key] = value;
    else if (Array.isArray(value)) form[key] = value.filter((item): item is string => typeof item === 'string');
  }
  return form;
}

export function field(form: FormData, name: string): string {
  const value = form[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

export function fields(form: FormData, name: string): string[] {
  const value = form[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** An optional number field: empty means "not set"; anything else that is not a number is kept to fail validation. */
export function optionalNumber(value: string): number | string | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : trimmed;
}

/** Messages a person can act on, one per problem, naming the field. */
export function validationMessages(error: z.ZodError, labels: Record<string, string> = {}): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    const label = labels[path[0] ?? ''] ?? path.join('.');
    return label ? `${label}: ${issue.message}` : issue.message;
  });
}

/** An API error as messages for the form; anything that is not an ApiError is rethrown (a real 500). */
export function apiErrorMessages(error: unknown): { status: ApiError['status']; messages: string[] } {
  if (!(error instanceof ApiError)) throw error;
  const details = Array.isArray(error.details)
    ? error.details
        .map((detail) => (detail && typeof detail === 'object' && 'message' in detail ? String(detail.message) : null))
        .filter((message): message is string => message !== null)
    : [];
  return { status: error.status, messages: [error.message, ...details.filter((message) => message !== error.message)] };
}

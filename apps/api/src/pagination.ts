import { validationError } from './errors.ts';
import type { Page } from './schemas/common.ts';

/** A position in a list ordered by (createdAt desc, id desc). */
interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const date = new Date(String(createdAt));
    if (typeof createdAt === 'string' && typeof id === 'string' && id !== '' && !Number.isNaN(date.getTime())) {
      return { createdAt: date, id };
    }
  } catch {
    // answered below
  }
  throw validationError('invalid cursor', [{ path: ['cursor'], message: 'not a cursor returned by this API' }]);
}

/** The Prisma `where`, `orderBy` and `take` for one page after `cursor` (one extra row tells whether more follow). */
export function pageQuery(input: { cursor?: string | undefined; limit: number }) {
  const cursor = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  return {
    // The `lte` bound lets Postgres start an index range scan at the cursor; the OR alone cannot.
    where: cursor
      ? {
          createdAt: { lte: cursor.createdAt },
          OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }],
        }
      : {},
    orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }],
    take: input.limit + 1,
  };
}

/** Cuts the extra row off and turns the last row into `nextCursor`. */
export function toPage<Row extends { createdAt: Date; id: string }, Item>(
  rows: Row[],
  limit: number,
  serialize: (row: Row) => Item,
): Page<Item> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { data: items.map(serialize), nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
}

import { Prisma } from '@conveyor/core';

/** `P2002` unique violation, `P2003` foreign key violation, `P2025` record not found. */
export function isPrismaError(error: unknown, code: 'P2002' | 'P2003' | 'P2025'): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === code;
}

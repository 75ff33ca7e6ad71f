import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Opaque, roughly time-ordered ids such as `run_0kx3a9…`: a millisecond time part
 * (so ids sort by creation) and 80 random bits.
 */
export function newId(prefix: 'agt' | 'pip' | 'run' | 'art' | 'whd' | 'evt' | 'msg' | 'sch'): string {
  const time = Date.now().toString(36).padStart(9, '0');
  const bytes = randomChunk();
  let random = '';
  for (let i = 0; i < 16; i++) random += alphabet[bytes[i]! % 36];
  return `${prefix}_${time}${random}`;
}

/** Random bytes drawn 4 KiB at a time: one system call per 256 ids instead of one per id. */
let pool = Buffer.alloc(0);
let offset = 0;
function randomChunk(): Buffer {
  if (offset + 16 > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  offset += 16;
  return pool.subarray(offset - 16, offset);
}

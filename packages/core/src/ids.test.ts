import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';

describe('newId', () => {
  it('gives distinct, well-formed ids across many refills of the random pool', () => {
    const ids = Array.from({ length: 2000 }, () => newId('run'));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^run_[0-9a-z]{25}$/);
  });

  it('sorts by creation time across milliseconds', async () => {
    const first = newId('art');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(newId('art') > first).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../db/client.ts';
import { rotateStoredSecrets } from './rotate.ts';
import { SecretBox } from './secret-box.ts';

const db = createDatabase(process.env.DATABASE_URL!, { max: 2 });
const tag = randomBytes(4).toString('hex');
const ids = { oldV2: `rot-${tag}-a`, current: `rot-${tag}-b`, foreign: `rot-${tag}-c` };
afterAll(async () => {
  await db.providerCredential.deleteMany({ where: { provider: { startsWith: `rot-${tag}` } } });
  await db.$disconnect();
});

describe('rotateStoredSecrets', () => {
  it('seals stored provider keys again under the new key, leaves current and unreadable ones as they are', async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const foreign = new SecretBox(randomBytes(32)).seal('sk-foreign');
    const alreadyCurrent = new SecretBox(newKey).seal('sk-current');
    await db.providerCredential.createMany({
      data: [
        { provider: ids.oldV2, encryptedKey: new SecretBox(oldKey).seal('sk-old'), keyHint: '…' },
        { provider: ids.current, encryptedKey: alreadyCurrent, keyHint: '…' },
        { provider: ids.foreign, encryptedKey: foreign, keyHint: '…' },
      ],
    });

    const box = new SecretBox(newKey, [oldKey]);
    const report = await rotateStoredSecrets(db, box);
    expect(report.rotated).toBe(1);
    expect(report.current).toBe(1);
    expect(report.unreadable).toContain(`provider_credentials.${ids.foreign}`);

    const rows = new Map((await db.providerCredential.findMany({ where: { provider: { startsWith: `rot-${tag}` } } })).map((r) => [r.provider, r.encryptedKey]));
    expect(new SecretBox(newKey).open(rows.get(ids.oldV2)!)).toBe('sk-old');
    expect(rows.get(ids.current)).toBe(alreadyCurrent);
    expect(rows.get(ids.foreign)).toBe(foreign);

    const again = await rotateStoredSecrets(db, box);
    expect(again.rotated).toBe(0);
    expect(again.current).toBe(2);
  });

  it("seals agents' MCP header values again under the new key, keeping the rest of their tools as they are", async () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const id = `agt-rot-${tag}`;
    const tools = [
      'web_search',
      { type: 'mcp', url: 'https://mcp.example.com/mcp', headers: { authorization: new SecretBox(oldKey).seal('Bearer one'), 'x-team': new SecretBox(oldKey).seal('blue') } },
    ];
    await db.agent.create({ data: { id, name: 'rotating', model: 'claude-haiku-4-5', tools } });

    const box = new SecretBox(newKey, [oldKey]);
    const report = await rotateStoredSecrets(db, box);
    expect(report.rotated).toBeGreaterThanOrEqual(1);
    expect(report.unreadable.filter((where) => where.startsWith('agents.'))).toEqual([]);

    const stored = (await db.agent.findUniqueOrThrow({ where: { id } })).tools as [string, { headers: Record<string, string> }];
    expect(stored[0]).toBe('web_search');
    const current = new SecretBox(newKey);
    expect(current.open(stored[1].headers.authorization!)).toBe('Bearer one');
    expect(current.open(stored[1].headers['x-team']!)).toBe('blue');
    expect((await rotateStoredSecrets(db, box)).rotated).toBe(0);
    await db.agent.delete({ where: { id } });
  });
});

import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyId, SecretBox, SecretBoxError, secretBoxOf } from './secret-box.ts';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);

/** A value in the format written before key ids existed. */
function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe('SecretBox', () => {
  it('seals with the id of its key and opens what it sealed', () => {
    const box = new SecretBox(newKey);
    const sealed = box.seal('sk-secret-1234');
    expect(sealed.split('.').slice(0, 2)).toEqual(['v2', keyId(newKey)]);
    expect(sealed).not.toContain('sk-secret');
    expect(box.open(sealed)).toBe('sk-secret-1234');
    expect(box.seal('same')).not.toBe(box.seal('same'));
  });

  it('after rotation opens values sealed under a former key and seals only with the new one', () => {
    const before = new SecretBox(oldKey).seal('sk-old-value');
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(rotated.open(before)).toBe('sk-old-value');
    expect(rotated.needsRotation(before)).toBe(true);
    const resealed = rotated.reseal(before);
    expect(resealed.split('.')[1]).toBe(keyId(newKey));
    expect(rotated.needsRotation(resealed)).toBe(false);
    expect(new SecretBox(newKey).open(resealed)).toBe('sk-old-value');
  });

  it('opens values of the format without key ids under the current or a former key', () => {
    expect(new SecretBox(oldKey).open(sealV1(oldKey, 'legacy'))).toBe('legacy');
    const rotated = new SecretBox(newKey, [oldKey]);
    expect(rotated.open(sealV1(oldKey, 'legacy-old'))).toBe('legacy-old');
    expect(rotated.needsRotation(sealV1(newKey, 'legacy-new'))).toBe(true);
  });

  it('refuses a value sealed under a key it does not have, naming the key id and nothing secret', () => {
    const stranger = new SecretBox(randomBytes(32)).seal('sk-stranger');
    expect(() => new SecretBox(newKey, [oldKey]).open(stranger)).toThrow(SecretBoxError);
    expect(() => new SecretBox(newKey).open(stranger)).toThrow(/ENCRYPTION_KEYS_OLD/);
    expect(() => new SecretBox(newKey).open(sealV1(oldKey, 'x'))).toThrow(SecretBoxError);
  });

  it('refuses a tampered value', () => {
    const box = new SecretBox(newKey);
    const parts = box.seal('sk-secret').split('.');
    parts[4] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow(SecretBoxError);
    expect(() => box.open('plain text')).toThrow(/not a sealed secret/);
  });

  it('is built from ENCRYPTION_KEY and ENCRYPTION_KEYS_OLD', () => {
    expect(secretBoxOf({})).toBeUndefined();
    const box = secretBoxOf({ ENCRYPTION_KEY: newKey, ENCRYPTION_KEYS_OLD: [oldKey] })!;
    expect(box.keyId).toBe(keyId(newKey));
    expect(box.open(new SecretBox(oldKey).seal('x'))).toBe('x');
  });
});

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A sealed value that cannot be opened: malformed, tampered with, or sealed under a key not configured. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

/** A short, public id of a key (not a secret: a truncated hash of it), stored with each value it seals. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update('conveyor-secret-box-key-id\0').update(key).digest('base64url').slice(0, 11);
}

/**
 * AES-256-GCM with a random 96-bit IV per write. Stored form:
 * `v2.<key id>.<iv base64url>.<tag base64url>.<ciphertext base64url>`; values written before
 * key ids existed (`v1.<iv>.<tag>.<ciphertext>`) stay readable under any configured key.
 *
 * Rotation: construct it with the new key and the former ones (`ENCRYPTION_KEYS_OLD`); it
 * seals with the new key only and opens values sealed under any of them.
 */
export class SecretBox {
  readonly #key: Buffer;
  readonly #keyId: string;
  readonly #keys: Map<string, Buffer>;

  constructor(key: Buffer, previousKeys: readonly Buffer[] = []) {
    for (const k of [key, ...previousKeys]) if (k.length !== 32) throw new Error('SecretBox needs 32-byte keys');
    this.#key = key;
    this.#keyId = keyId(key);
    this.#keys = new Map([...previousKeys, key].map((k) => [keyId(k), k]));
  }

  /** The id of the key new values are sealed with. */
  get keyId(): string {
    return this.#keyId;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v2', this.#keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const key = this.#keys.get(parts[1]!);
      if (!key) throw new SecretBoxError(`sealed under key id ${parts[1]}, which is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_OLD`);
      return decrypt(key, parts[2]!, parts[3]!, parts[4]!);
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      // No key id: the current key first, then the former ones (GCM's tag tells a wrong key).
      for (const key of [this.#key, ...[...this.#keys.values()].filter((k) => k !== this.#key)]) {
        try {
          return decrypt(key, parts[1]!, parts[2]!, parts[3]!);
        } catch {
          // try the next key
        }
      }
      throw new SecretBoxError('sealed under a key that is neither ENCRYPTION_KEY nor in ENCRYPTION_KEYS_OLD');
    }
    throw new SecretBoxError('not a sealed secret');
  }

  /** Whether a stored value should be sealed again with the current key (older format or an old key). */
  needsRotation(sealed: string): boolean {
    const parts = sealed.split('.');
    return !(parts[0] === 'v2' && parts[1] === this.#keyId);
  }

  /** The value sealed again under the current key. */
  reseal(sealed: string): string {
    return this.seal(this.open(sealed));
  }
}

function decrypt(key: Buffer, iv: string, tag: string, body: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretBoxError('the sealed value does not open under its key (tampered with, or the wrong key)');
  }
}

/** The SecretBox of a configuration: ENCRYPTION_KEY seals, it and ENCRYPTION_KEYS_OLD open. Undefined without a key. */
export function secretBoxOf(config: { ENCRYPTION_KEY?: Buffer | undefined; ENCRYPTION_KEYS_OLD?: readonly Buffer[] }): SecretBox | undefined {
  return config.ENCRYPTION_KEY ? new SecretBox(config.ENCRYPTION_KEY, config.ENCRYPTION_KEYS_OLD ?? []) : undefined;
}

/** At most the last 4 characters of a key, for display. */
export function keyHint(key: string): string {
  return key.length > 8 ? `…${key.slice(-4)}` : '…';
}

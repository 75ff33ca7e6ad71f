import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '@conveyor/core';

/** The console exists only when both admin credentials are configured. */
export function consoleEnabled(config: Config): boolean {
  return config.ADMIN_USER !== '' && config.ADMIN_PASSWORD !== '';
}

/** Hashing first gives equal-length inputs, so the comparison time says nothing about either value. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function credentialsMatch(config: Config, user: string, password: string): boolean {
  const userOk = sameSecret(user, config.ADMIN_USER);
  const passwordOk = sameSecret(password, config.ADMIN_PASSWORD);
  return consoleEnabled(config) && userOk && passwordOk;
}

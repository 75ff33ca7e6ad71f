/**
 * `npm run keys:rotate`: seals every stored secret again under ENCRYPTION_KEY.
 * Rotation: set ENCRYPTION_KEY to the new key and ENCRYPTION_KEYS_OLD to the former one(s),
 * restart the API and workers (they read both), run this, then drop ENCRYPTION_KEYS_OLD.
 */
import { configOrExit, createDatabase, rotateStoredSecrets, secretBoxOf } from '@conveyor/core';

const config = configOrExit('keys:rotate');
const box = secretBoxOf(config);
if (!box) {
  process.stderr.write('keys:rotate: ENCRYPTION_KEY is not set; nothing can be encrypted\n');
  process.exit(78);
}
const db = createDatabase(config.DATABASE_URL, { max: 2, transactionPooler: config.DATABASE_TRANSACTION_POOLER });
try {
  const report = await rotateStoredSecrets(db, box);
  process.stdout.write(`keys:rotate: ${report.rotated} re-encrypted under key ${box.keyId}, ${report.current} already current\n`);
  if (report.unreadable.length > 0) {
    process.stderr.write(`keys:rotate: ${report.unreadable.length} opened under no configured key (add the key to ENCRYPTION_KEYS_OLD): ${report.unreadable.join(', ')}\n`);
    process.exitCode = 1;
  }
} finally {
  await db.$disconnect();
}

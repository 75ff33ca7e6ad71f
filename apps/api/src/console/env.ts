import type { AppEnv } from '../context.ts';
import type { Session } from './auth/session.ts';

/** The console's Hono environment: the API's, plus the signed-in session. */
export type ConsoleEnv = {
  Variables: AppEnv['Variables'] & { session: Session };
};

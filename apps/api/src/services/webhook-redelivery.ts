import { type Redelivery, RedeliveryRefusedError, RedeliveryRunNotFoundError, redeliverRunEndWebhook } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';

/** The run's end event sent again (see redeliverRunEndWebhook); 404 for an unknown run, 409 when nothing can be sent. */
export async function redeliverRunWebhook(deps: Pick<ApiDeps, 'db' | 'webhooksQueue' | 'logger'>, runId: string): Promise<Redelivery> {
  try {
    return await redeliverRunEndWebhook(deps, runId);
  } catch (error) {
    if (error instanceof RedeliveryRunNotFoundError) throw notFound('run', runId);
    if (error instanceof RedeliveryRefusedError) throw new ApiError(409, 'redelivery_refused', error.message);
    throw error;
  }
}

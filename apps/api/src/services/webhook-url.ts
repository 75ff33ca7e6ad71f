import { validateWebhookUrl, WebhookUrlError } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { validationError } from '../errors.ts';

/**
 * Refuses a webhook URL that Conveyor would not deliver to: not http(s), with credentials,
 * or (unless WEBHOOK_ALLOW_PRIVATE) on a loopback, private or metadata address.
 */
export async function assertWebhookUrlAllowed(deps: ApiDeps, url: string, path: string[]): Promise<void> {
  try {
    await validateWebhookUrl(url, { allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE });
  } catch (error) {
    if (error instanceof WebhookUrlError) throw validationError(error.message, [{ path, message: error.message }]);
    throw error;
  }
}

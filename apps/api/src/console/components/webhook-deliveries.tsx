/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { WebhookDeliveryJson } from '../../services/webhook-deliveries.ts';
import type { Session } from '../auth/session.ts';
import { formatDate, formatDuration } from '../format.ts';
import { CsrfField } from './csrf-field.tsx';

const finalOutcomes = new Set(['succeeded', 'gave_up', 'stopped']);

/** A run's webhook attempts, and Redeliver: now while the end event waits for a retry, once more after a final outcome. */
export function WebhookDeliveries({ runId, session, deliveries, ended }: { runId: string; session: Session; deliveries: WebhookDeliveryJson[]; ended: boolean }) {
  const final = deliveries.some((delivery) => finalOutcomes.has(delivery.outcome));
  return (
    <div id="webhook-deliveries">
      {deliveries.length === 0 ? (
        <p class="muted">{ended ? 'No delivery attempt (yet): the run or its pipeline needs a webhook URL.' : 'The webhook is sent when the run ends.'}</p>
      ) : (
        <table class="responsive deliveries">
          <thead>
            <tr>
              <th>Attempt</th>
              <th>Event</th>
              <th>URL</th>
              <th>Answer</th>
              <th>Duration</th>
              <th>Outcome</th>
              <th>At</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr data-delivery={delivery.id}>
                <td data-label="Attempt">{delivery.attempt}</td>
                <td data-label="Event" class="mono">
                  {delivery.eventType}
                </td>
                <td data-label="URL" class="mono">
                  {delivery.url}
                </td>
                <td data-label="Answer">{delivery.statusCode !== null ? `HTTP ${delivery.statusCode}` : (delivery.error ?? '—')}</td>
                <td data-label="Duration">{formatDuration(delivery.durationMs)}</td>
                <td data-label="Outcome">
                  <span class={`badge ${delivery.outcome === 'succeeded' ? 'succeeded' : delivery.outcome === 'failed' ? 'running' : 'failed'}`}>
                    {delivery.outcome.replace('_', ' ')}
                  </span>
                </td>
                <td data-label="At" class="small muted">
                  {formatDate(delivery.attemptedAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {ended && (
        <form method="post" action={`/runs/${runId}/redeliver`} class="actions" id="redeliver-form" data-mode={final ? 'resend' : 'now'}>
          <CsrfField token={session.csrfToken} />
          <button type="submit" class="secondary">
            {final ? 'Send again' : 'Redeliver now'}
          </button>
          <span class="hint">
            {final
              ? 'Sends the run’s end event once more, with the same webhook-id.'
              : 'Sends the run’s end event now (a waiting retry is attempted at once).'}
          </span>
        </form>
      )}
    </div>
  );
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface VerifiedDelivery {
  webhookId: string;
  type: string;
  runId: string;
  status: string;
}

export interface WebhookReceiver {
  url: string;
  /** Deliveries that failed verification, with the reason. */
  readonly rejected: string[];
  /** Resolves with the first verified delivery for the run. */
  deliveryFor(runId: string, timeoutMs: number): Promise<VerifiedDelivery>;
  close(): Promise<void>;
}

const maxBodyBytes = 1_048_576;

/** A local endpoint that accepts only deliveries signed per Standard Webhooks with `secret`. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const webhook = new Webhook(secret);
  const verified: VerifiedDelivery[] = [];
  const rejected: string[] = [];
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const event = webhook.verify(body, req.headers as Record<string, string>) as { type?: string; data?: { id?: string; status?: string } };
        verified.push({
          webhookId: String(req.headers['webhook-id']),
          type: String(event.type),
          runId: String(event.data?.id),
          status: String(event.data?.status),
        });
        res.writeHead(204).end();
        for (const wake of waiters) wake();
      } catch (error) {
        rejected.push(error instanceof Error ? error.message : String(error));
        res.writeHead(401, { 'content-type': 'text/plain' }).end('signature verification failed');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/webhooks/conveyor`,
    rejected,
    deliveryFor(runId, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = verified.find((delivery) => delivery.runId === runId);
          if (!found) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const why = rejected.length > 0 ? `; rejected: ${rejected.join('; ')}` : '';
          reject(new Error(`no verified webhook for run ${runId} within ${timeoutMs / 1000}s${why}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ToolServer {
  url: string;
  /** Tool calls received with a valid signature. */
  readonly calls: number;
  close(): Promise<void>;
}

/** The facts the demo's `product_facts` tool answers with. */
export const productFacts = {
  product: 'Conveyor',
  what: 'runs AI agent pipelines as background jobs',
  features: ['live event stream', 'signed webhooks', 'stored artifacts with exact decimal cost', 'tools and structured output'],
};

/**
 * The demo's HTTP tool: Conveyor POSTs `{runId, stepIndex, toolCallId, name, input}`, signed like
 * its webhooks; a signed call gets the product facts as JSON, anything else a 400.
 */
export async function startToolServer(secret: string): Promise<ToolServer> {
  const webhook = new Webhook(secret);
  let calls = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        webhook.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad signature');
        return;
      }
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(productFacts));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tools/product_facts`,
    get calls() {
      return calls;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

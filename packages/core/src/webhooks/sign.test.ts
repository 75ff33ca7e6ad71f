import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { webhookHeaders } from './sign.ts';

const secret = 'whsec_' + Buffer.from('a test secret of enough length').toString('base64');
const body = JSON.stringify({ type: 'run.succeeded', timestamp: '2026-01-01T00:00:00.000Z', data: { id: 'run_1' } });

describe('Standard Webhooks signing', () => {
  it('produces headers a standardwebhooks receiver verifies', () => {
    const headers = webhookHeaders({ id: 'msg_run_1_succeeded', sentAt: new Date(), body }, secret);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('fails verification for a tampered body', () => {
    const headers = webhookHeaders({ id: 'msg_run_1_succeeded', sentAt: new Date(), body }, secret);
    expect(() => new Webhook(secret).verify(body.replace('run_1', 'run_2'), headers)).toThrow(/signature/);
  });

  it('fails verification for a stale timestamp', () => {
    const headers = webhookHeaders({ id: 'msg_run_1_succeeded', sentAt: new Date(Date.now() - 10 * 60_000), body }, secret);
    expect(() => new Webhook(secret).verify(body, headers)).toThrow(/too old/);
  });

  it('fails verification with another secret', () => {
    const headers = webhookHeaders({ id: 'msg_run_1_succeeded', sentAt: new Date(), body }, secret);
    const other = 'whsec_' + Buffer.from('another secret, also long enough').toString('base64');
    expect(() => new Webhook(other).verify(body, headers)).toThrow(/signature/);
  });

  it('sends id and timestamp but no signature when no secret is configured', () => {
    const headers = webhookHeaders({ id: 'msg_run_1_succeeded', sentAt: new Date(1_700_000_000_000), body }, undefined);
    expect(headers).toEqual({ 'webhook-id': 'msg_run_1_succeeded', 'webhook-timestamp': '1700000000' });
  });
});

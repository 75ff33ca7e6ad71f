import { SecretBox } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi, TEST_ENCRYPTION_KEY } from '../test-support.ts';

const api = createTestApi({ ANTHROPIC_API_KEY: 'sk-ant-env-key-zzzz' });
afterAll(async () => {
  await api.deps.db.providerCredential.deleteMany({ where: { provider: 'openai' } });
  await api.deps.db.setting.deleteMany({ where: { key: 'defaultModel' } });
  await api.close();
});

const json = async (res: Response) => (await res.json()) as any;
const secret = 'sk-proj-SECRETVALUE-1234567890-abcd';

describe('provider keys, models and settings', () => {
  it('lists providers with the source of their key and only a hint of it', async () => {
    await api.deps.db.providerCredential.deleteMany({ where: { provider: 'openai' } });
    const providers = await json(await api.call('GET', '/v1/providers'));
    expect(providers).toEqual([
      { id: 'anthropic', name: 'Anthropic', configured: true, source: 'env', keyHint: '…zzzz' },
      { id: 'openai', name: 'OpenAI', configured: false, source: null, keyHint: null },
    ]);
  });

  it('stores a key encrypted, never returns or logs it, and lists the provider’s models', async () => {
    const put = await api.call('PUT', '/v1/providers/openai/key', { apiKey: secret, baseUrl: 'http://127.0.0.1:4010/v1' });
    expect(put.status).toBe(200);
    const putText = await put.text();
    expect(JSON.parse(putText)).toEqual({ id: 'openai', name: 'OpenAI', configured: true, source: 'stored', keyHint: '…abcd' });

    const row = await api.deps.db.providerCredential.findUniqueOrThrow({ where: { provider: 'openai' } });
    expect(row.encryptedKey).not.toContain(secret);
    expect(row.encryptedKey).not.toContain('SECRETVALUE');
    expect(new SecretBox(Buffer.from(TEST_ENCRYPTION_KEY, 'hex')).open(row.encryptedKey)).toBe(secret);
    expect(row).toMatchObject({ keyHint: '…abcd', baseUrl: 'http://127.0.0.1:4010/v1' });

    await api.call('PUT', '/v1/providers/openai/key', { apiKey: secret });
    const rewritten = await api.deps.db.providerCredential.findUniqueOrThrow({ where: { provider: 'openai' } });
    expect(rewritten.encryptedKey).not.toBe(row.encryptedKey);

    const models = await json(await api.call('GET', '/v1/models'));
    expect(models.providers.map((p: any) => p.id)).toEqual(['anthropic', 'openai']);
    const gpt = models.providers[1].models[0];
    expect(gpt).toMatchObject({ id: expect.any(String), name: expect.any(String), prices: { input: expect.stringMatching(/^\d+(\.\d+)?$/) } });

    const bodies = [
      putText,
      await (await api.call('GET', '/v1/providers')).text(),
      JSON.stringify(models),
      await (await api.call('GET', '/openapi.json')).text(),
    ];
    for (const body of bodies) expect(body).not.toContain('SECRETVALUE');
    expect(api.logs()).not.toContain('SECRETVALUE');
    expect(api.logs()).toContain('/v1/providers/openai/key');
  });

  it('removes a stored key, and the environment key applies again', async () => {
    await api.call('PUT', '/v1/providers/anthropic/key', { apiKey: 'sk-ant-stored-9876' });
    expect((await json(await api.call('GET', '/v1/providers')))[0]).toMatchObject({ source: 'stored', keyHint: '…9876' });
    expect((await api.call('DELETE', '/v1/providers/anthropic/key')).status).toBe(204);
    expect((await json(await api.call('GET', '/v1/providers')))[0]).toMatchObject({ source: 'env', keyHint: '…zzzz' });
    expect((await api.call('DELETE', '/v1/providers/anthropic/key')).status).toBe(404);
  });

  it('answers 503 when no ENCRYPTION_KEY is configured', async () => {
    const keyless = createTestApi({ ENCRYPTION_KEY: '' });
    try {
      const res = await keyless.call('PUT', '/v1/providers/openai/key', { apiKey: secret });
      expect(res.status).toBe(503);
      const body = await json(res);
      expect(body.error).toMatchObject({ code: 'unavailable', message: expect.stringContaining('ENCRYPTION_KEY') });
      expect(JSON.stringify(body)).not.toContain('SECRETVALUE');
    } finally {
      await keyless.close();
    }
  });

  it('accepts only a listed model as the default', async () => {
    const models = await json(await api.call('GET', '/v1/models'));
    const listed = models.providers[0].models[0].id as string;
    const ok = await api.call('PUT', '/v1/settings', { defaultModel: listed });
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ defaultModel: listed });
    expect(await json(await api.call('GET', '/v1/settings'))).toEqual({ defaultModel: listed });
    expect((await json(await api.call('GET', '/v1/models'))).default).toBe(listed);

    expect((await api.call('PUT', '/v1/settings', { defaultModel: 'openai:llama3.1' })).status).toBe(400);
    expect((await api.call('PUT', '/v1/settings', { defaultModel: 'gpt-unknown' })).status).toBe(400);
  });

  it('unsets the default with null; a pipeline on the default model is then refused at submit with 409, nothing enqueued', async () => {
    const models = await json(await api.call('GET', '/v1/models'));
    const listed = models.providers[0].models[0].id as string;
    expect((await api.call('PUT', '/v1/settings', { defaultModel: listed })).status).toBe(200);
    const agent = await json(await api.call('POST', '/v1/agents', { name: 'on default', model: '__default__' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'default pipeline', steps: [{ agentId: agent.id }] }));
    expect((await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' })).status).toBe(202);

    const unset = await api.call('PUT', '/v1/settings', { defaultModel: null });
    expect(unset.status).toBe(200);
    expect(await json(unset)).toEqual({ defaultModel: null });
    expect((await json(await api.call('GET', '/v1/models'))).default).toBeNull();

    const refused = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' });
    expect(refused.status).toBe(409);
    expect((await json(refused)).error).toMatchObject({ code: 'conflict', message: expect.stringContaining('no default model is set') });
    expect(await api.deps.db.run.count({ where: { pipelineId: pipeline.id } })).toBe(1);
  });
});

describe('provider base URLs', () => {
  it('refuses loopback, private, link-local and metadata addresses with 400 unless PROVIDER_ALLOW_PRIVATE', async () => {
    const strict = createTestApi({ PROVIDER_ALLOW_PRIVATE: 'false' });
    try {
      for (const baseUrl of ['http://169.254.169.254/', 'http://127.0.0.1:4010/v1', 'http://localhost:11434/v1', 'http://10.1.2.3/v1', 'http://[::1]/v1']) {
        const res = await strict.call('PUT', '/v1/providers/anthropic/key', { apiKey: 'sk-ant-would-leak-1234', baseUrl });
        expect(res.status).toBe(400);
        const body = await json(res);
        expect(body.error.code).toBe('validation_error');
        expect(body.error.message).toContain('PROVIDER_ALLOW_PRIVATE');
        expect(JSON.stringify(body)).not.toContain('would-leak');
      }
      expect(await strict.deps.db.providerCredential.count({ where: { baseUrl: { in: ['http://169.254.169.254/', 'http://127.0.0.1:4010/v1'] }, keyHint: '…1234' } })).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it('lets a private address through when PROVIDER_ALLOW_PRIVATE=true (local model servers)', async () => {
    // An unknown provider, so nothing is stored that other test files could see: past the guard it is a 404.
    const lenient = createTestApi({ PROVIDER_ALLOW_PRIVATE: 'true' });
    const strict = createTestApi({ PROVIDER_ALLOW_PRIVATE: 'false' });
    try {
      const body = { apiKey: 'sk-local-1234', baseUrl: 'http://127.0.0.1:11434/v1' };
      expect((await lenient.call('PUT', '/v1/providers/no-such-provider/key', body)).status).toBe(404);
      expect((await strict.call('PUT', '/v1/providers/no-such-provider/key', body)).status).toBe(400);
    } finally {
      await Promise.all([lenient.close(), strict.close()]);
    }
  });
});

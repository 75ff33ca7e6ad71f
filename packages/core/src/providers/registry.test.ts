import { describe, expect, it, vi } from 'vitest';
import './all.ts';
import { UnknownModelError } from './errors.ts';
import { registry } from './registry.ts';

describe('provider registry', () => {
  it.each([
    ['claude-sonnet-4-5', 'anthropic'],
    ['claude-haiku-4-5-20251001', 'anthropic'],
    ['gpt-4o', 'openai'],
    ['gpt-5.4-mini', 'openai'],
    ['o1', 'openai'],
    ['o1-mini', 'openai'],
    ['o3', 'openai'],
    ['o3-mini', 'openai'],
    ['o4-mini', 'openai'],
    ['chatgpt-4o-latest', 'openai'],
  ])('resolves %s to %s by its prefix', (model, provider) => {
    const resolved = registry.resolve(model);
    expect(resolved.provider.id).toBe(provider);
    expect(resolved.model).toBe(model);
  });

  it('resolves an explicit provider:model and strips the prefix', () => {
    expect(registry.resolve('openai:llama3.1')).toMatchObject({ provider: { id: 'openai' }, model: 'llama3.1' });
    expect(registry.resolve('openai:qwen2.5:7b')).toMatchObject({ provider: { id: 'openai' }, model: 'qwen2.5:7b' });
    expect(registry.resolve('anthropic:claude-opus-5')).toMatchObject({ provider: { id: 'anthropic' }, model: 'claude-opus-5' });
  });

  it.each(['llama3.1', 'gemini-2.5-pro', 'claude', 'GPT-4o', 'nope:gpt-4o', 'openai:', ''])('refuses the unknown model %j', (model) => {
    expect(() => registry.resolve(model)).toThrow(UnknownModelError);
  });

  it('lists both providers with the tools they support', () => {
    expect(registry.list().map((p) => [p.id, p.supportedTools])).toEqual([
      ['anthropic', ['web_search', 'web_fetch']],
      ['openai', []],
    ]);
  });

  it('registers a provider by importing its module alone', async () => {
    vi.resetModules();
    const fresh = await import('./registry.ts');
    expect(fresh.registry.list()).toEqual([]);
    await import('./openai.ts');
    expect(fresh.registry.list().map((p) => p.id)).toEqual(['openai']);
    expect(fresh.registry.resolve('gpt-4o').provider.id).toBe('openai');
    expect(() => fresh.registry.resolve('claude-haiku-4-5')).toThrow();
    await import('./anthropic.ts');
    expect(fresh.registry.resolve('claude-haiku-4-5').provider.id).toBe('anthropic');
  });
});

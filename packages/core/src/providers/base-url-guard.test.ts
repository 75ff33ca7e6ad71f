import { describe, expect, it } from 'vitest';
import type { HostResolver } from '../net/address-guard.ts';
import { assertProviderBaseUrl, assertProviderBaseUrlSyntax, ProviderUrlError } from './base-url-guard.ts';

const resolvesTo =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('provider base URL guard', () => {
  it.each(['http://169.254.169.254/', 'http://127.0.0.1:4010/v1', 'http://localhost:11434/v1', 'http://10.0.0.5/v1', 'http://[::1]:8080', 'http://[fd00:ec2::254]/', 'http://metadata.google.internal/'])(
    'refuses %s unless private addresses are allowed',
    async (url) => {
      await expect(assertProviderBaseUrl(url, { allowPrivate: false, lookup: resolvesTo('8.8.8.8') })).rejects.toThrow(ProviderUrlError);
      await expect(assertProviderBaseUrl(url, { allowPrivate: true })).resolves.toBeInstanceOf(URL);
    },
  );

  it('refuses a public name that resolves to a private address', async () => {
    await expect(assertProviderBaseUrl('https://llm.example.com/v1', { allowPrivate: false, lookup: resolvesTo('192.168.1.10') })).rejects.toThrow(/PROVIDER_ALLOW_PRIVATE/);
  });

  it('accepts a public endpoint, and a name that does not resolve now', async () => {
    await expect(assertProviderBaseUrl('https://api.openai.com/v1', { allowPrivate: false, lookup: resolvesTo('162.159.140.245') })).resolves.toBeInstanceOf(URL);
    const failing: HostResolver = async () => {
      throw new Error('ENOTFOUND');
    };
    await expect(assertProviderBaseUrl('https://nowhere.example/v1', { allowPrivate: false, lookup: failing })).resolves.toBeInstanceOf(URL);
  });

  it('refuses other schemes and credentials in the URL, even when private addresses are allowed', () => {
    expect(() => assertProviderBaseUrlSyntax('file:///etc/passwd', { allowPrivate: true })).toThrow(/http or https/);
    expect(() => assertProviderBaseUrlSyntax('https://u:p@api.example.com', { allowPrivate: true })).toThrow(/credentials/);
    expect(() => assertProviderBaseUrlSyntax('not a url', { allowPrivate: true })).toThrow(/absolute/);
  });
});

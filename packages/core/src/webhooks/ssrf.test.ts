import { describe, expect, it, vi } from 'vitest';
import {
  assertWebhookTarget,
  assertWebhookUrlSyntax,
  guardedLookup,
  type HostResolver,
  isForbiddenAddress,
  validateWebhookUrl,
  WebhookUrlError,
} from './ssrf.ts';

const resolvesTo =
  (...addresses: string[]): HostResolver =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

const unusedResolver: HostResolver = () => {
  throw new Error('the resolver must not be called');
};

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.100.100.200',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:a00:1',
    '64:ff9b::a9fe:a9fe',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '2001:db8::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.215.14', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('accepts public %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('webhook URL validation at submission', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
    'http://localhost/hook',
    'http://localhost.:8080/hook',
    'http://api.localhost/hook',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://127.0.0.1:3000/hook',
    'http://127.1/hook',
    'http://2130706433/hook',
    'http://0x7f.0.0.1/hook',
    'http://[::1]/hook',
    'http://[::ffff:169.254.169.254]/hook',
    'https://[fd00:ec2::254]/hook',
  ])('refuses %s by default, without resolving it', async (url) => {
    await expect(validateWebhookUrl(url, { allowPrivate: false, lookup: unusedResolver })).rejects.toThrow(WebhookUrlError);
  });

  it('refuses a host name that resolves to a private address', async () => {
    await expect(
      validateWebhookUrl('https://hooks.example.com/x', { allowPrivate: false, lookup: resolvesTo('93.184.215.14', '10.1.2.3') }),
    ).rejects.toThrow(/private/);
  });

  it('accepts a host name that resolves only to public addresses', async () => {
    const url = await validateWebhookUrl('https://hooks.example.com/x?token=1', {
      allowPrivate: false,
      lookup: resolvesTo('93.184.215.14', '2606:4700:4700::1111'),
    });
    expect(url.href).toBe('https://hooks.example.com/x?token=1');
  });

  it('accepts a host name that does not resolve now, since delivery checks again', async () => {
    const lookup: HostResolver = async () => {
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    await expect(validateWebhookUrl('https://nowhere.example.com/', { allowPrivate: false, lookup })).resolves.toBeInstanceOf(URL);
  });

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/hook',
    'http://localhost/hook',
    'http://[::1]:8080/hook',
    'http://hooks.internal.example/x',
  ])('accepts %s when private targets are allowed, without resolving it', async (url) => {
    await expect(assertWebhookTarget(url, { allowPrivate: true, lookup: unusedResolver })).resolves.toBeInstanceOf(URL);
  });

  it.each([
    ['ftp://example.com/hook', /http or https/],
    ['file:///etc/passwd', /http or https/],
    ['javascript:alert(1)', /http or https/],
    ['/relative/hook', /absolute/],
    ['https://user:pass@example.com/hook', /credentials/],
    [`https://example.com/${'a'.repeat(2100)}`, /at most/],
  ])('refuses %s even when private targets are allowed', (url, message) => {
    expect(() => assertWebhookUrlSyntax(url, { allowPrivate: true })).toThrow(message);
  });
});

describe('guardedLookup at delivery', () => {
  const lookupWith = (resolver: HostResolver, options: { all?: boolean; family?: number } = {}) =>
    new Promise<{ error: unknown; address: unknown; family?: number }>((resolve) =>
      guardedLookup(resolver)('hooks.example.com', options, (error, address, family) => resolve({ error, address, family })),
    );

  it('fails with a WebhookUrlError when the name now resolves to a private address', async () => {
    const { error } = await lookupWith(resolvesTo('169.254.169.254'));
    expect(error).toBeInstanceOf(WebhookUrlError);
  });

  it('hands the checked public addresses to the socket', async () => {
    expect(await lookupWith(resolvesTo('93.184.215.14'))).toMatchObject({ error: null, address: '93.184.215.14', family: 4 });
    const all = await lookupWith(resolvesTo('93.184.215.14', '2606:4700:4700::1111'), { all: true });
    expect(all.address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
  });

  it('passes resolution errors through', async () => {
    const failure = Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    const { error } = await lookupWith(vi.fn(async () => Promise.reject(failure)));
    expect(error).toBe(failure);
  });
});

import { describe, expect, it } from 'vitest';
import { consoleNextPath, DEFAULT_NEXT } from './next-path.ts';

describe('consoleNextPath', () => {
  it.each(['/runs', '/runs/run_1?x=1#step-2', '/pipelines/pip_1/edit', '/agents', '/artifacts?cursor=abc', '/settings', '/admin/queues'])('keeps the console path %s', (path) => {
    expect(consoleNextPath(path)).toBe(path);
  });

  it.each([
    ['a tab (decoded %09)', '/\t/evil.example/x'],
    ['a newline (decoded %0A)', '/runs\nSet-Cookie: x=1'],
    ['CRLF (decoded %0D%0A)', '/runs\r\nLocation: https://evil.example'],
    ['a protocol-relative URL', '//evil.example/x'],
    ['a backslash', '/\\evil.example'],
    ['backslashes only', '\\\\evil.example'],
    ['an absolute URL', 'https://evil.example/runs'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a relative path', 'runs'],
    ['a non-console path', '/v1/agents'],
    ['the login itself', '/login'],
    ['an encoded slash trick', '/%2F%2Fevil.example'],
    ['a dot-segment escape to another section', '/runs/../../v1/agents'],
    ['a NUL', '/runs\u0000'],
    ['nothing', ''],
  ])('refuses %s', (_, next) => {
    expect(consoleNextPath(next)).toBe(DEFAULT_NEXT);
  });

  it('answers a percent-encoded path that is safe in a Location header', () => {
    const path = consoleNextPath('/runs/ünïcode space');
    expect(path).toBe('/runs/%C3%BCn%C3%AFcode%20space');
    expect(() => new Headers({ location: path })).not.toThrow();
  });
});

// Parsing the test kit's options: server addresses and lists of names.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { collectNames } from '../../../src/cli/shared/arg-parsers.js';
import { parseTarget } from '../../../src/cli/kit/kit-options.js';

describe('parseTarget', () => {
  it('reads HOST:PORT, [IPv6]:PORT and HOST alone (port 7077)', () => {
    expect(parseTarget('127.0.0.1:7077')).toEqual({ host: '127.0.0.1', port: 7077 });
    expect(parseTarget('lab.example.org:1')).toEqual({ host: 'lab.example.org', port: 1 });
    expect(parseTarget('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseTarget('localhost')).toEqual({ host: 'localhost', port: 7077 });
  });

  it('refuses anything else, saying what it expects', () => {
    for (const bad of ['', ':7077', 'host:0', 'host:65536', 'host:x', '::1:80', 'a:1:2']) {
      expect(() => parseTarget(bad), bad).toThrow(InvalidArgumentError);
    }
    expect(() => parseTarget('host:x')).toThrow('expected HOST:PORT (e.g. 127.0.0.1:7077), not "host:x"');
  });
});

describe('collectNames', () => {
  it('splits on commas and adds up repeated options', () => {
    expect(collectNames('a, b,,c', undefined)).toEqual(['a', 'b', 'c']);
    expect(collectNames('d', ['a'])).toEqual(['a', 'd']);
  });
});

// The one set of flag parsers both programs use: what each accepts, and the message
// commander prints for what it refuses.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  collect,
  collectEnv,
  integerIn,
  parseCount,
  parseMs,
  parsePort,
  parsePositiveCount,
} from '../../../src/cli/shared/arg-parsers.js';

describe('flag parsers', () => {
  it('take whole decimal numbers in their range', () => {
    expect(parseMs('1')).toBe(1);
    expect(parseMs('86400000')).toBe(86_400_000);
    expect(parsePositiveCount('32')).toBe(32);
    expect(parseCount('0')).toBe(0);
    expect(parsePort('1')).toBe(1);
    expect(parsePort('65535')).toBe(65535);
    expect(integerIn(0, 65535)('0')).toBe(0);
    expect(integerIn(1)(' 7 ')).toBe(7);
  });

  it('refuse anything else, saying what they expect', () => {
    const refusals: Array<[(value: string) => number, string, string]> = [
      [parseMs, '0', 'expected a positive number of milliseconds, not "0"'],
      [parseMs, '1.5', 'expected a positive number of milliseconds, not "1.5"'],
      [parseMs, '1e3', 'expected a positive number of milliseconds, not "1e3"'],
      [parseMs, '99999999999999999999', 'expected a positive number of milliseconds'],
      [parsePositiveCount, '0', 'expected a positive number, not "0"'],
      [parseCount, '-1', 'expected a number, not "-1"'],
      [parseCount, 'some', 'expected a number, not "some"'],
      [parsePort, '0', 'the port must be a number 1..65535, not "0"'],
      [parsePort, '65536', 'the port must be a number 1..65535, not "65536"'],
      [parsePort, ' 80', 'the port must be a number 1..65535, not " 80"'],
      [integerIn(0, 65535), '65536', 'expected an integer 0..65535'],
      [integerIn(1), '0', 'expected an integer 1..'],
      [integerIn(1), 'x', 'expected an integer 1..'],
    ];
    for (const [parse, value, message] of refusals) {
      expect(() => parse(value), value).toThrow(InvalidArgumentError);
      expect(() => parse(value), value).toThrow(message);
    }
  });

  it('collect NAME=VALUE pairs and repeated values', () => {
    expect(collectEnv('B=2=3', collectEnv('A=', undefined))).toEqual({ A: '', B: '2=3' });
    expect(() => collectEnv('=x', undefined)).toThrow('expected NAME=VALUE, not "=x"');
    expect(() => collectEnv('NOEQUALS', undefined)).toThrow('expected NAME=VALUE, not "NOEQUALS"');
    expect(collect('b', collect('a', undefined))).toEqual(['a', 'b']);
  });
});

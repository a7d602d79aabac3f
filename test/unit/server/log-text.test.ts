// Client text in log lines: clipped with its original length, argv bounded.
import { describe, expect, it } from 'vitest';
import { clipArgv, clipMessage, clipOptional, clipText, summarizeRequest } from '../../../src/server/log-text.js';

describe('log text', () => {
  it('keeps short text, and clips long text to 200 characters plus its length', () => {
    expect(clipText('alice')).toBe('alice');
    expect(clipText('x'.repeat(200))).toBe('x'.repeat(200));
    expect(clipText('x'.repeat(201))).toBe(`${'x'.repeat(200)}…[201 chars]`);
    const clipped = clipText('x'.repeat(65_536));
    expect(clipped).toBe(`${'x'.repeat(200)}…[65536 chars]`);
  });

  it('clips a value that may be absent, and says absent as null', () => {
    expect(clipOptional(undefined)).toBeNull();
    expect(clipOptional(null)).toBeNull();
    expect(clipOptional('')).toBe('');
    expect(clipOptional('y'.repeat(300))).toBe(`${'y'.repeat(200)}…[300 chars]`);
  });

  it('does not split a surrogate pair', () => {
    const text = `${'a'.repeat(199)}😀${'b'.repeat(10)}`;
    expect(clipText(text)).toBe(`${'a'.repeat(199)}…[${text.length} chars]`);
    // The first and the last high surrogates.
    for (const pair of ['\u{10000}', '\u{10FFFF}']) {
      expect(clipText(`${'a'.repeat(199)}${pair}b`)).toBe(`${'a'.repeat(199)}…[202 chars]`);
    }
    // A pair that ends at the cut is kept whole; other characters at the cut are kept.
    expect(clipText(`${'a'.repeat(198)}😀b`)).toBe(`${'a'.repeat(198)}😀…[201 chars]`);
    expect(clipText(`${'a'.repeat(199)}\uffe1b`)).toBe(`${'a'.repeat(199)}\uffe1…[201 chars]`);
    expect(clipText(`${'a'.repeat(199)}\ud7ffb`)).toBe(`${'a'.repeat(199)}\ud7ff…[201 chars]`);
  });

  it('keeps the head and the tail of a message, so that the rule survives', () => {
    const message = `${'x'.repeat(10_000)} is not an allowed command (rule: allow)`;
    const clipped = clipMessage(message);
    expect(clipped.length).toBeLessThan(600);
    expect(clipped).toMatch(/^x+…\[10040 chars\]…x+ is not an allowed command \(rule: allow\)$/);
    // 500 characters are kept as they are; past that, the first 334 and the last 166.
    const exact = `${'h'.repeat(334)}${'t'.repeat(166)}`;
    expect(clipMessage(exact)).toBe(exact);
    expect(clipMessage(`${exact}!`)).toBe(`${'h'.repeat(334)}…[501 chars]…${'t'.repeat(165)}!`);
  });

  it('keeps at most 64 argv entries and says how many there were', () => {
    expect(clipArgv(['ls', '-l'])).toEqual({ argv: ['ls', '-l'] });
    const many = clipArgv(Array.from({ length: 100_000 }, () => 'a'));
    expect(many.argv).toHaveLength(64);
    expect(many.argc).toBe(100_000);
    expect(clipArgv(Array.from({ length: 64 }, () => 'a'))).toEqual({ argv: Array.from({ length: 64 }, () => 'a') });
    const long = clipArgv(Array.from({ length: 64 }, () => 'y'.repeat(1000)));
    expect(long.argv.join('').length).toBeLessThan(5000);
    expect(long.argc).toBe(64);
  });

  it('stops taking argv entries once they hold 4096 characters', () => {
    const entries = Array.from({ length: 40 }, (_, i) => `${i}`.padEnd(128, '-'));
    const clipped = clipArgv(entries);
    expect(clipped).toEqual({ argv: entries.slice(0, 32), argc: 40 });
  });

  it('summarises a malformed request header without trusting its types', () => {
    expect(summarizeRequest({ argv: ['a', 5, { x: 1 }, undefined], cwd: 7, command: 'z'.repeat(300) })).toEqual({
      argv: ['a', '5', '{"x":1}', ''],
      command: `${'z'.repeat(200)}…[300 chars]`,
    });
    expect(summarizeRequest({ argv: 'ls' })).toEqual({});
    expect(summarizeRequest({ argv: ['ls'], cwd: `/${'d'.repeat(300)}` })).toStrictEqual({
      argv: ['ls'],
      cwd: `/${'d'.repeat(199)}…[301 chars]`,
    });
  });
});

// Client text in log lines: clipped with its original length, argv bounded.
import { describe, expect, it } from 'vitest';
import { clipArgv, clipMessage, clipText, summarizeRequest } from '../../../src/server/log-text.js';

describe('log text', () => {
  it('keeps short text, and clips long text to 200 characters plus its length', () => {
    expect(clipText('alice')).toBe('alice');
    const clipped = clipText('x'.repeat(65_536));
    expect(clipped).toBe(`${'x'.repeat(200)}…[65536 chars]`);
  });

  it('does not split a surrogate pair', () => {
    const text = `${'a'.repeat(199)}😀${'b'.repeat(10)}`;
    expect(clipText(text)).toBe(`${'a'.repeat(199)}…[${text.length} chars]`);
  });

  it('keeps the head and the tail of a message, so that the rule survives', () => {
    const message = `${'x'.repeat(10_000)} is not an allowed command (rule: allow)`;
    const clipped = clipMessage(message);
    expect(clipped.length).toBeLessThan(600);
    expect(clipped).toMatch(/^x+…\[10040 chars\]…x+ is not an allowed command \(rule: allow\)$/);
  });

  it('keeps at most 64 argv entries and says how many there were', () => {
    expect(clipArgv(['ls', '-l'])).toEqual({ argv: ['ls', '-l'] });
    const many = clipArgv(Array.from({ length: 100_000 }, () => 'a'));
    expect(many.argv).toHaveLength(64);
    expect(many.argc).toBe(100_000);
    const long = clipArgv(Array.from({ length: 64 }, () => 'y'.repeat(1000)));
    expect(long.argv.join('').length).toBeLessThan(5000);
    expect(long.argc).toBe(64);
  });

  it('summarises a malformed request header without trusting its types', () => {
    expect(summarizeRequest({ argv: ['a', 5, { x: 1 }], cwd: 7, command: 'z'.repeat(300) })).toEqual({
      argv: ['a', '5', '{"x":1}'],
      command: `${'z'.repeat(200)}…[300 chars]`,
    });
    expect(summarizeRequest({ argv: 'ls' })).toEqual({});
  });
});

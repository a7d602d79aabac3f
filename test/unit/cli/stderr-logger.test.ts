// One event, one line: control characters from clients are escaped in the stderr log.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStderrLogger, escapeLogText } from '../../../src/cli/rexecd/stderr-logger.js';

describe('stderr logger', () => {
  it('escapes control characters in the message and in every value', () => {
    const sink = new PassThrough();
    const logger = createStderrLogger('info', sink);
    logger.warn({ user: 'a\nrexecd: info authenticated user=teacher', 'k\r': ['\u001b[2J'] }, 'failed: \u2028x\u0085');
    const text = String(sink.read());
    expect(text.split('\n')).toHaveLength(2);
    expect(text).toBe(
      'rexecd: warn failed: \\u2028x\\u0085 user=a\\nrexecd: info authenticated user=teacher k\\r=["\\u001b[2J"]\n',
    );
  });

  it('cuts values that are far too long', () => {
    expect(escapeLogText('x'.repeat(100_000))).toMatch(/^x{8192}…\[100000 chars\]$/);
    expect(escapeLogText('tab\there')).toBe('tab\\there');
  });
});

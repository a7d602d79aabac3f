// One event, one line: control characters from clients are escaped in the stderr log.
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStderrLogger, escapeLogText } from '../../../src/cli/rexecd/stderr-logger.js';
import type { LogLevel } from '../../../src/cli/rexecd/stderr-logger.js';

// Every line a logger at `level` writes for one event of each level.
function linesAt(level: LogLevel): string[] {
  const sink = new PassThrough();
  const logger = createStderrLogger(level, sink);
  logger.error({}, 'e');
  logger.warn({}, 'w');
  logger.info({}, 'i');
  logger.debug({}, 'd');
  return String(sink.read() ?? '')
    .split('\n')
    .filter((line) => line !== '');
}

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

  it('writes the events of its level and the levels above, each named', () => {
    expect(linesAt('debug')).toStrictEqual(['rexecd: error e', 'rexecd: warn w', 'rexecd: info i', 'rexecd: debug d']);
    expect(linesAt('info')).toStrictEqual(['rexecd: error e', 'rexecd: warn w', 'rexecd: info i']);
    expect(linesAt('warn')).toStrictEqual(['rexecd: error e', 'rexecd: warn w']);
    expect(linesAt('error')).toStrictEqual(['rexecd: error e']);
  });

  it('writes values that are not strings as JSON', () => {
    const sink = new PassThrough();
    createStderrLogger('info', sink).info({ n: 5, none: undefined, list: [1, 'a'] }, 'm');
    expect(String(sink.read())).toBe('rexecd: info m n=5 none=undefined list=[1,"a"]\n');
  });

  it('cuts values that are far too long', () => {
    expect(escapeLogText('x'.repeat(100_000))).toMatch(/^x{8192}…\[100000 chars\]$/);
    expect(escapeLogText('x'.repeat(8192))).toBe('x'.repeat(8192));
    expect(escapeLogText('tab\there')).toBe('tab\\there');
  });

  it('escapes every C0 and C1 control, DEL and the line separators, and nothing else', () => {
    expect(escapeLogText('\u0000\u001f\u007f\u009f\u2029')).toBe('\\u0000\\u001f\\u007f\\u009f\\u2029');
    expect(escapeLogText(' ~\u00a0é\u2027\u2030')).toBe(' ~\u00a0é\u2027\u2030');
    // Direction overrides and isolates, zero-width characters: a line that reads backwards.
    expect(escapeLogText('\u200b\u200f\u202a\u202e\u2066\u2069')).toBe('\\u200b\\u200f\\u202a\\u202e\\u2066\\u2069');
    expect(escapeLogText('\u200a\u206a')).toBe('\u200a\u206a');
  });

  it('gives a log up once its stream fails (nobody reads it): no more writes, nothing thrown', async () => {
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    // Every line the logger hands to the stream, whatever the stream does with it.
    let handed = 0;
    const write = sink.write.bind(sink);
    sink.write = ((...args: Parameters<typeof write>) => {
      handed += 1;
      return write(...args);
    }) as typeof sink.write;
    const logger = createStderrLogger('info', sink);
    logger.info({}, 'first');
    // The stream reports its failure asynchronously.
    await new Promise((resolve) => setImmediate(resolve));
    expect(handed).toBe(1);
    logger.error({}, 'after the failure');
    logger.info({}, 'and again');
    await new Promise((resolve) => setImmediate(resolve));
    expect(handed).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { jsonReport } from '../../../src/cli/rexec/run/json-output.js';

const exit = {
  code: 0,
  signal: null,
  timedOut: false,
  truncated: false,
  stdoutBytes: 0,
  stderrBytes: 0,
  durationMs: 5,
};

describe('jsonReport', () => {
  it('keeps valid UTF-8 as text and anything else as base64', () => {
    const report = jsonReport(exit, Buffer.from('héllo ✓'), Buffer.from([0xff, 0x00, 0x41]));
    expect(report).toEqual({
      stdout: 'héllo ✓',
      stderr: '/wBB',
      stdoutEncoding: 'utf8',
      stderrEncoding: 'base64',
      code: 0,
      signal: null,
      timedOut: false,
      truncated: false,
      durationMs: 5,
    });
  });

  it('treats a UTF-8 sequence cut at the end as binary', () => {
    expect(jsonReport(exit, Buffer.from('✓').subarray(0, 2), Buffer.alloc(0)).stdoutEncoding).toBe('base64');
  });
});

// The results as printed: a line per check with its section, the reason below, and a
// summary that names what failed.
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../src/conformance/check.js';
import { formatResult, formatSummary, jsonReport, tally } from '../../../src/conformance/report.js';

const result = (id: string, status: CheckResult['status'], reason = ''): CheckResult => ({
  id,
  section: '3.4',
  title: `what ${id} checks`,
  status,
  reason,
  durationMs: 5,
});
const results = [
  result('hello', 'pass'),
  result('auth-wrong-proof', 'fail', 'expected AUTH_FAILED'),
  result('idle-timeout', 'skip', 'not announced'),
];

describe('report', () => {
  it('prints a line per check, with the reason of a failure or skip below it', () => {
    expect(formatResult(results[0] as CheckResult)).toBe(`PASS  ${'hello'.padEnd(36)} §3.4  what hello checks\n`);
    expect(formatResult(results[1] as CheckResult)).toBe(
      `FAIL  ${'auth-wrong-proof'.padEnd(36)} §3.4  what auth-wrong-proof checks\n      -> expected AUTH_FAILED\n`,
    );
    expect(formatResult(results[2] as CheckResult)).toContain('SKIP  idle-timeout');
  });

  it('sums up, naming the failed checks', () => {
    expect(tally(results)).toEqual({ passed: 1, failed: 1, skipped: 1 });
    expect(formatSummary('rexecd/1 at h:1', results)).toBe(
      'rexecd/1 at h:1: 1 passed, 1 failed, 1 skipped of 3: does not conform (failed: auth-wrong-proof)\n',
    );
    expect(formatSummary('x', [result('hello', 'pass')])).toBe('x: 1 passed, 0 failed, 0 skipped of 1: conforms\n');
  });

  it('gives the same as one JSON object', () => {
    expect(jsonReport('x', results)).toEqual({ subject: 'x', ok: false, passed: 1, failed: 1, skipped: 1, results });
  });
});

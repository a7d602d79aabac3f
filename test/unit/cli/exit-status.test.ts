import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { statusOfError, statusOfExit, statusOfSignal } from '../../../src/cli/shared/exit-status.js';
import { RexecError } from '../../../src/errors.js';

const exit = { timedOut: false, truncated: false, stdoutBytes: 0, stderrBytes: 0, durationMs: 1 };

describe('exit status (docs/protocol.md section 7)', () => {
  it('is the remote code, or 128 + the signal number', () => {
    expect(statusOfExit({ ...exit, code: 0, signal: null })).toBe(0);
    expect(statusOfExit({ ...exit, code: 3, signal: null })).toBe(3);
    expect(statusOfExit({ ...exit, code: null, signal: 'SIGKILL' })).toBe(128 + constants.signals.SIGKILL);
    expect(statusOfSignal('SIGINT')).toBe(130);
    expect(statusOfSignal('SIGNOTREAL')).toBe(255);
  });

  it('is 127 for NOT_FOUND, 126 for DENIED and SPAWN_FAILED, else 255', () => {
    expect(statusOfError(new RexecError('NOT_FOUND', 'x'))).toBe(127);
    expect(statusOfError(new RexecError('DENIED', 'x'))).toBe(126);
    expect(statusOfError(new RexecError('SPAWN_FAILED', 'x'))).toBe(126);
    for (const code of ['BUSY', 'CONNECT_FAILED', 'AUTH_FAILED', 'PROTOCOL', 'SHUTTING_DOWN'] as const) {
      expect(statusOfError(new RexecError(code, 'x'))).toBe(255);
    }
    expect(statusOfError(new Error('x'))).toBe(255);
  });
});

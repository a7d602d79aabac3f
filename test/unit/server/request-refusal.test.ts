// Which refused requests are audited, and as what: decided from the error's code and
// rule, so that rewording a message never stops a refusal from being audited.
import { describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { execRefusal, isPolicyRefusal, transferRefusal } from '../../../src/server/request-refusal.js';

describe('isPolicyRefusal', () => {
  it('is true for DENIED, with or without a rule', () => {
    expect(isPolicyRefusal(new RexecError('DENIED', 'no', { id: 1, rule: 'allow' }))).toBe(true);
    expect(isPolicyRefusal(new RexecError('DENIED', 'permission denied by the file system', { id: 1 }))).toBe(true);
  });

  it('is true for BUSY from a per-user rule, whatever its message says', () => {
    const reworded = new RexecError('BUSY', 'alice has too much going on', {
      id: 3,
      rule: 'limits.maxConcurrentPerUser',
    });
    expect(isPolicyRefusal(reworded)).toBe(true);
  });

  it("is false for BUSY on the connection's own limit, even if its message mentions a rule", () => {
    expect(isPolicyRefusal(new RexecError('BUSY', '16 requests are already running (rule: none)', { id: 3 }))).toBe(
      false,
    );
  });

  it('is false for other codes and for errors that are not RexecErrors', () => {
    expect(isPolicyRefusal(new RexecError('NOT_FOUND', 'x', { rule: 'allow' }))).toBe(false);
    expect(isPolicyRefusal(new Error('DENIED (rule: allow)'))).toBe(false);
  });
});

describe('execRefusal', () => {
  it.each([
    ['DENIED', undefined, 'denied'],
    ['BUSY', 'limits.maxConcurrentPerUser', 'denied'],
    ['BAD_REQUEST', undefined, 'refused'],
    ['NOT_FOUND', undefined, 'refused'],
    ['SPAWN_FAILED', undefined, 'refused'],
    ['BUSY', undefined, 'none'],
    ['DUPLICATE_ID', undefined, 'none'],
    ['SHUTTING_DOWN', undefined, 'none'],
    ['PROTOCOL', undefined, 'none'],
  ] as const)('%s (rule %s) is %s', (code, rule, expected) => {
    expect(execRefusal(new RexecError(code, 'x', rule === undefined ? { id: 1 } : { id: 1, rule }))).toBe(expected);
  });

  it('an error that is not a RexecError is a failed spawn: refused', () => {
    expect(execRefusal(Object.assign(new Error('spawn ETXTBSY'), { code: 'ETXTBSY' }))).toBe('refused');
  });
});

describe('transferRefusal', () => {
  it.each([
    ['DENIED', undefined, 'denied'],
    ['BUSY', 'limits.maxConcurrentPerUser', 'denied'],
    ['EXISTS', undefined, 'refused'],
    ['NOT_FOUND', undefined, 'refused'],
    ['SPAWN_FAILED', undefined, 'refused'],
    ['BUSY', undefined, 'none'],
    ['DUPLICATE_ID', undefined, 'none'],
    ['SHUTTING_DOWN', undefined, 'none'],
  ] as const)('%s (rule %s) is %s', (code, rule, expected) => {
    expect(transferRefusal(new RexecError(code, 'x', rule === undefined ? { id: 1 } : { id: 1, rule }))).toBe(expected);
  });

  it('an error that is not a RexecError is not audited', () => {
    expect(transferRefusal(new Error('x'))).toBe('none');
  });
});

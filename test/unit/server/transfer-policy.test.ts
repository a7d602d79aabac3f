// The policy's rules for transfers (docs/protocol.md, "Policy rules"): `files: false`
// refuses every transfer; a put whose announced size is over `limits.maxFileBytes` or
// `limits.fileSizeBytes` is refused before anything is written; a get is not
// size-limited. Each refusal is DENIED with the request's id, naming its rule.
import { describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import type { GetRequest, PutRequest } from '../../../src/protocol/messages.js';
import { checkTransferPolicy } from '../../../src/server/files/transfer-policy.js';
import { basePolicy } from '../../../src/server/policy/user-policy.js';
import type { UserPolicy } from '../../../src/server/policy/user-policy.js';

const base = basePolicy({
  root: '/srv/lab',
  allowShell: false,
  timeoutMs: 1000,
  maxConcurrent: 4,
  maxOutputBytes: undefined,
});

function policy(overrides: Partial<UserPolicy>): UserPolicy {
  return { ...base, ...overrides };
}

const put = (size: number): PutRequest => ({
  type: 'put',
  id: 12,
  path: 'a.txt',
  size,
  mode: 0o644,
  overwrite: false,
  mkdirs: false,
});
const get: GetRequest = { type: 'get', id: 13, path: 'a.txt' };

/** The refusal of `request` under `rules`, or undefined when it may go ahead. */
function refusal(request: PutRequest | GetRequest, rules: UserPolicy): RexecError | undefined {
  try {
    checkTransferPolicy(request, rules);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(RexecError);
    return error as RexecError;
  }
}

describe('checkTransferPolicy', () => {
  it('allows both ways by default, of any size', () => {
    expect(refusal(put(0), base)).toBeUndefined();
    expect(refusal(put(2 ** 40), base)).toBeUndefined();
    expect(refusal(get, base)).toBeUndefined();
  });

  it('files: false refuses puts and gets, naming the rule', () => {
    const off = policy({ files: false });
    expect(refusal(put(0), off)).toMatchObject({
      code: 'DENIED',
      id: 12,
      rule: 'files',
      message: 'file transfers are not allowed here (rule: files)',
    });
    expect(refusal(get, off)).toMatchObject({
      code: 'DENIED',
      id: 13,
      rule: 'files',
      message: 'file transfers are not allowed here (rule: files)',
    });
  });

  it('limits.maxFileBytes: a put of exactly the limit passes, one byte more is DENIED', () => {
    const capped = policy({ maxFileBytes: 100 });
    expect(refusal(put(100), capped)).toBeUndefined();
    expect(refusal(put(101), capped)).toMatchObject({
      code: 'DENIED',
      id: 12,
      rule: 'limits.maxFileBytes',
      message: 'a file of 101 bytes is over the 100 allowed (rule: limits.maxFileBytes)',
    });
  });

  it('limits.fileSizeBytes caps puts the same way', () => {
    const capped = policy({ rlimits: { fileSizeBytes: 50 } });
    expect(refusal(put(50), capped)).toBeUndefined();
    expect(refusal(put(51), capped)).toMatchObject({
      code: 'DENIED',
      id: 12,
      rule: 'limits.fileSizeBytes',
      message: 'a file of 51 bytes is over the 50 allowed (rule: limits.fileSizeBytes)',
    });
  });

  it('a limit of 0 allows only empty files', () => {
    expect(refusal(put(0), policy({ maxFileBytes: 0 }))).toBeUndefined();
    expect(refusal(put(1), policy({ maxFileBytes: 0 }))?.code).toBe('DENIED');
    expect(refusal(put(0), policy({ rlimits: { fileSizeBytes: 0 } }))).toBeUndefined();
    expect(refusal(put(1), policy({ rlimits: { fileSizeBytes: 0 } }))?.code).toBe('DENIED');
  });

  it('the smaller of the two limits decides, and the refusal names it', () => {
    const both = policy({ maxFileBytes: 100, rlimits: { fileSizeBytes: 10 } });
    expect(refusal(put(11), both)?.message).toMatch(/rule: limits\.fileSizeBytes/);
    const other = policy({ maxFileBytes: 10, rlimits: { fileSizeBytes: 100 } });
    expect(refusal(put(11), other)?.message).toMatch(/rule: limits\.maxFileBytes/);
  });

  it('a get is not size-limited', () => {
    expect(refusal(get, policy({ maxFileBytes: 0, rlimits: { fileSizeBytes: 0 } }))).toBeUndefined();
  });
});

// prepareExec's refusals carry the rule that refused as data (the audit decides from
// it), and name it in the message for people.
import { describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import type { ExecRequest } from '../../../src/protocol/exec-requests.js';
import { prepareExec } from '../../../src/server/exec-request.js';
import { basePolicy } from '../../../src/server/policy/user-policy.js';
import type { UserPolicy } from '../../../src/server/policy/user-policy.js';

const base = basePolicy({ root: '/', allowShell: false, timeoutMs: 1000, maxConcurrent: 4, maxOutputBytes: undefined });

function exec(more: Partial<ExecRequest>): ExecRequest {
  return {
    type: 'exec',
    id: 9,
    argv: ['true'],
    command: undefined,
    cwd: undefined,
    env: [],
    timeoutMs: undefined,
    stdin: false,
    stdinAck: false,
    merge: false,
    pty: undefined,
    ...more,
  };
}

// Awaited: prepareExec refuses by throwing, or by rejecting once it looks at a cwd.
async function refusal(request: ExecRequest, policy: UserPolicy): Promise<RexecError> {
  try {
    await prepareExec(request, policy, { PATH: '/usr/bin:/bin' });
  } catch (error) {
    expect(error).toBeInstanceOf(RexecError);
    return error as RexecError;
  }
  throw new Error('prepareExec accepted the request');
}

describe('prepareExec refusals', () => {
  it('shell: DENIED with rule "shell"', async () => {
    expect(await refusal(exec({ argv: undefined, command: 'true' }), base)).toMatchObject({
      code: 'DENIED',
      id: 9,
      rule: 'shell',
    });
  });

  it('env.allow: DENIED with rule "env.allow"', async () => {
    const policy: UserPolicy = { ...base, envAllow: new Set(['TERM']) };
    expect(await refusal(exec({ env: [['FOO', '1']] }), policy)).toMatchObject({
      code: 'DENIED',
      id: 9,
      rule: 'env.allow',
      message: 'setting FOO is not allowed (rule: env.allow)',
    });
  });

  it('allow: DENIED with rule "allow"', async () => {
    const policy: UserPolicy = { ...base, allow: { names: new Set(['echo']), paths: new Set() } };
    expect(await refusal(exec({ argv: ['id'] }), policy)).toMatchObject({
      code: 'DENIED',
      id: 9,
      rule: 'allow',
      message: 'id is not an allowed command (rule: allow)',
    });
  });
});

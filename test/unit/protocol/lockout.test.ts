// The lockout message: written by the server, recognised by clients (docs/protocol.md
// section 3 gives both forms exactly).
import { describe, expect, it } from 'vitest';
import { lockoutMessage, lockoutSeconds } from '../../../src/protocol/lockout.js';

describe('lockout message', () => {
  it('says it is a lockout of a name at an address, and for how long, in a form clients recognise', () => {
    const message = lockoutMessage(41.2, 'user');
    expect(message).toBe(
      'authentication failed: locked out for 42 s after repeated failed logins of this user from this address (rule: authFailures)',
    );
    expect(lockoutSeconds(message)).toBe(42);
  });

  it('names the per-address rule for a lockout of the address', () => {
    const message = lockoutMessage(60, 'address');
    expect(message).toBe(
      'authentication failed: locked out for 60 s after repeated failed logins from this address (rule: authFailuresPerAddress)',
    );
    expect(lockoutSeconds(message)).toBe(60);
  });

  it('says at least 1 s, in whole seconds rounded up', () => {
    expect(lockoutSeconds(lockoutMessage(0.1, 'address'))).toBe(1);
    expect(lockoutSeconds(lockoutMessage(0, 'user'))).toBe(1);
    expect(lockoutSeconds(lockoutMessage(59.001, 'user'))).toBe(60);
  });

  it('is not recognised in any other message, also one that quotes it', () => {
    expect(lockoutSeconds('authentication failed: wrong key or unknown user')).toBeUndefined();
    expect(lockoutSeconds(`unknown user "x": ${lockoutMessage(5, 'user')}`)).toBeUndefined();
    expect(lockoutSeconds('authentication failed: locked out for many s after repeated failed logins')).toBeUndefined();
  });
});

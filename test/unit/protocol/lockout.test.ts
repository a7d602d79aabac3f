// The lockout message: written by the server, recognised by clients.
import { describe, expect, it } from 'vitest';
import { lockoutMessage, lockoutSeconds } from '../../../src/protocol/lockout.js';

describe('lockout message', () => {
  it('says it is a lockout and for how long, in a form clients recognise', () => {
    const message = lockoutMessage(41.2, 'user');
    expect(message).toBe(
      'authentication failed: locked out for 42 s after repeated failed logins of this user from this address (rule: authFailures)',
    );
    expect(lockoutSeconds(message)).toBe(42);
    expect(lockoutSeconds(lockoutMessage(0.1, 'address'))).toBe(1);
    expect(lockoutSeconds('authentication failed: wrong key or unknown user')).toBeUndefined();
  });
});

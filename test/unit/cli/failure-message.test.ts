// What `rexec` says for refusals at login: a lockout is not a wrong key, and a refused
// connection names the server's rule.
import { describe, expect, it } from 'vitest';
import { failureMessage } from '../../../src/cli/rexec/failure-message.js';
import { RexecError } from '../../../src/errors.js';
import { lockoutMessage } from '../../../src/protocol/lockout.js';

const settings = { host: 'lab', port: 7077, keyFile: '/home/a/.config/rexec/alice.key', user: 'alice' };

describe('failure messages at login', () => {
  it('a lockout says so and for how long, and does not blame the key', () => {
    const text = failureMessage(new RexecError('AUTH_FAILED', lockoutMessage(42, 'user')), settings);
    expect(text).toMatch(/^locked out by the server for 42 s after repeated failed logins/);
    expect(text).not.toContain("not the server's key");
  });

  it('any other AUTH_FAILED blames the key', () => {
    const text = failureMessage(new RexecError('AUTH_FAILED', 'authentication failed: wrong key or unknown user'), settings);
    expect(text).toContain(`the key in ${settings.keyFile} is not the server's key for user "alice"`);
  });

  it('TOO_MANY_CONNECTIONS names the rule the server gave', () => {
    const message = 'too many connections from 10.0.0.9 still authenticating (8; rule: maxUnauthenticatedPerAddress)';
    expect(failureMessage(new RexecError('TOO_MANY_CONNECTIONS', message), settings)).toBe(
      `the server at lab:7077 has too many connections (${message}): try again later`,
    );
  });
});

// What `rexec` says for refusals at login: a lockout is not a wrong key, and a refused
// connection names the server's rule. The errors come from the client library's reading
// of the server's `error` frames, as they do in a real run.
import { describe, expect, it } from 'vitest';
import { failureCode, failureMessage } from '../../../src/cli/rexec/failure-message.js';
import { CliError } from '../../../src/cli/shared/cli-error.js';
import { errorFromFrame, LockoutError } from '../../../src/client/server-error.js';
import { RexecError } from '../../../src/errors.js';
import { lockoutMessage } from '../../../src/protocol/lockout.js';

const settings = { host: 'lab', port: 7077, keyFile: '/home/a/.config/rexec/alice.key', user: 'alice' };

describe('failure messages at login', () => {
  it('a lockout says so and for how long, and does not blame the key', () => {
    const error = errorFromFrame({ type: 'error', code: 'AUTH_FAILED', message: lockoutMessage(42, 'user') });
    expect(error).toBeInstanceOf(LockoutError);
    expect(error).toMatchObject({ code: 'AUTH_FAILED', seconds: 42 });
    const text = failureMessage(error, settings);
    expect(text).toMatch(/^locked out by the server for 42 s after repeated failed logins for user "alice"/);
    expect(text).not.toContain("not the server's key");
  });

  it('any other AUTH_FAILED blames the key', () => {
    const error = errorFromFrame({
      type: 'error',
      code: 'AUTH_FAILED',
      message: 'authentication failed: wrong key or unknown user',
    });
    expect(error).not.toBeInstanceOf(LockoutError);
    expect(failureMessage(error, settings)).toContain(
      `the key in ${settings.keyFile} is not the server's key for user "alice"`,
    );
  });

  it('TOO_MANY_CONNECTIONS names the rule the server gave', () => {
    const message = 'too many connections from 10.0.0.9 still authenticating (8; rule: maxUnauthenticatedPerAddress)';
    expect(failureMessage(errorFromFrame({ type: 'error', code: 'TOO_MANY_CONNECTIONS', message }), settings)).toBe(
      `the server at lab:7077 has too many connections (${message}): try again later`,
    );
  });

  it('a connection closed while connecting hints at TLS; one closed later does not', () => {
    const closed = new RexecError('CONNECTION_CLOSED', 'the server closed the connection during the handshake');
    expect(failureMessage(closed, settings, { connecting: true })).toBe(
      'connection to lab:7077 lost: the server closed the connection during the handshake (if the server uses TLS, add --tls)',
    );
    const withCert = { ...settings, tls: { cert: '/c.pem', key: '/k.pem', knownHostsFile: '/kh' } };
    expect(failureMessage(closed, withCert, { connecting: true })).toContain(
      '(does the server trust the client certificate of --tls-cert?)',
    );
    expect(failureMessage(new RexecError('CONNECTION_CLOSED', 'connection broke: ECONNRESET'), settings)).toBe(
      'connection to lab:7077 lost: connection broke: ECONNRESET',
    );
  });

  it("the program's own failures are said as they are, with their code", () => {
    const error = new CliError(255, 'FRAME_TOO_LARGE', 'the command is too long for one request');
    expect(failureMessage(error, settings)).toBe('the command is too long for one request');
    expect(failureCode(error)).toBe('FRAME_TOO_LARGE');
    expect(failureCode(new RexecError('BUSY', 'x'))).toBe('BUSY');
    expect(failureCode(new Error('bug'))).toBe('UNEXPECTED');
  });
});

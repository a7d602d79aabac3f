// What rexecd prints as a one-line error (something the user can fix) and what it lets
// through with its stack (a bug of ours): decided by the error's kind, not by its class
// alone (a TypeError is a bug, never a usage error).
import { describe, expect, it } from 'vitest';
import { RexecError } from '../../../src/errors.js';
import { userErrorMessage } from '../../../src/cli/rexecd/user-errors.js';
import { createServer } from '../../../src/server/index.js';

const AUTH = { mode: 'hmac-sha256', keys: new Map([['default', 'k'.repeat(32)]]) } as const;

/** The error createServer throws for these options. */
function optionError(options: Partial<Parameters<typeof createServer>[0]>): unknown {
  try {
    createServer({ auth: AUTH, port: 0, ...options });
  } catch (error) {
    return error;
  }
  throw new Error('createServer accepted the options');
}

describe('createServer: invalid options', () => {
  it.each([
    ['maxConnections', { maxConnections: 0 }],
    ['port', { port: 70_000 }],
    ['timeoutMs', { timeoutMs: 1.5 }],
    ['maxUnauthenticated', { maxConnections: 4, maxUnauthenticated: 5 }],
    ['searchPath', { searchPath: ['bin'] }],
    ['root', { root: '/no/such/directory/here' }],
  ] as const)('%s: a CONFIG RexecError naming the option', (name, options) => {
    const error = optionError(options);
    expect(error).toBeInstanceOf(RexecError);
    expect(error).toMatchObject({ code: 'CONFIG' });
    expect((error as Error).message).toMatch(name === 'searchPath' ? /search path/ : new RegExp(name));
  });

  it('auth keys: an empty map and a "*" key are CONFIG errors', () => {
    expect(optionError({ auth: { mode: 'hmac-sha256', keys: new Map() } })).toMatchObject({ code: 'CONFIG' });
    expect(optionError({ auth: { mode: 'hmac-sha256', keys: new Map([['*', 'k'.repeat(32)]]) } })).toMatchObject({
      code: 'CONFIG',
    });
  });
});

describe('userErrorMessage', () => {
  it('gives the message of a RexecError (a bad flag or file)', () => {
    expect(userErrorMessage(optionError({ maxConnections: 0 }))).toMatch(
      /option maxConnections must be a positive integer/,
    );
  });

  it('gives the message of a refused system call', () => {
    const error = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), {
      code: 'ENOENT',
      syscall: 'open',
    });
    expect(userErrorMessage(error)).toBe("ENOENT: no such file or directory, open '/x'");
  });

  it('gives nothing for a bug: a TypeError, or a Node argument error, goes up with its stack', () => {
    expect(userErrorMessage(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeUndefined();
    expect(
      userErrorMessage(
        Object.assign(new TypeError('The "path" argument must be of type string'), { code: 'ERR_INVALID_ARG_TYPE' }),
      ),
    ).toBeUndefined();
    expect(userErrorMessage('a string')).toBeUndefined();
  });
});

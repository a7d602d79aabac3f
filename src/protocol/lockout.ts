// The message of an AUTH_FAILED that refuses a login because of earlier failed logins,
// without checking its proof (a lockout, docs/protocol.md section 3). The code stays
// AUTH_FAILED; clients tell a lockout from a wrong key by this form of the message.

/** Whom a lockout holds back: one user name from one address, or a whole address. */
export type LockoutScope = 'user' | 'address';

const PREFIX = 'authentication failed: locked out for ';
const LOCKOUT = /^authentication failed: locked out for (\d+) s after repeated failed logins/;

/**
 * `authentication failed: locked out for 42 s after repeated failed logins of this user
 * from this address (rule: authFailures)`, or `... failed logins from this address (rule:
 * authFailuresPerAddress)`: clients match the text up to "logins".
 */
export function lockoutMessage(seconds: number, scope: LockoutScope): string {
  const whose =
    scope === 'user'
      ? 'of this user from this address (rule: authFailures)'
      : 'from this address (rule: authFailuresPerAddress)';
  return `${PREFIX}${Math.max(1, Math.ceil(seconds))} s after repeated failed logins ${whose}`;
}

/** The seconds of a lockout message, or undefined for any other message. */
export function lockoutSeconds(message: string): number | undefined {
  const match = LOCKOUT.exec(message);
  return match === null ? undefined : Number(match[1]);
}

// Turning a server's `error` frame into a RexecError (docs/protocol.md section 8), with what
// the protocol lets a message say as data of its own: a lockout's length.
import { ERROR_CODES, RexecError, isWireErrorCode } from '../errors.js';
import { lockoutSeconds } from '../protocol/lockout.js';
import type { ErrorMessage } from '../protocol/messages.js';

/**
 * AUTH_FAILED for a login refused because of earlier failed logins from the same
 * address (a lockout, docs/protocol.md section 3): the key was not checked, so it is not
 * known to be wrong. Try again once `seconds` have passed.
 */
export class LockoutError extends RexecError {
  /** Seconds until the lockout ends, as the server said (at least 1). */
  readonly seconds: number;

  constructor(message: string, seconds: number) {
    super('AUTH_FAILED', message);
    this.name = 'LockoutError';
    this.seconds = seconds;
  }
}

/** The RexecError for an `error` frame; a code this client does not know is UNEXPECTED_FRAME. */
export function errorFromFrame(message: ErrorMessage): RexecError {
  const options = {
    ...(message.id === undefined ? {} : { id: message.id }),
    ...(message.retryMs === undefined ? {} : { retryMs: message.retryMs }),
  };
  if (isWireErrorCode(message.code)) {
    const text = message.message === '' ? ERROR_CODES[message.code].summary : message.message;
    // The protocol gives a lockout's length in the message's words (section 3): read
    // here, once, so that callers get it as a number.
    const seconds = message.code === 'AUTH_FAILED' ? lockoutSeconds(text) : undefined;
    if (seconds !== undefined) return new LockoutError(text, seconds);
    return new RexecError(message.code, text, options);
  }
  return new RexecError(
    'UNEXPECTED_FRAME',
    `server sent unknown error code ${JSON.stringify(message.code)}: ${message.message}`,
    options,
  );
}

/** Whether an `error` frame ends the connection: fatal codes, and unknown codes without an id. */
export function isFatalErrorFrame(message: ErrorMessage): boolean {
  if (isWireErrorCode(message.code)) return ERROR_CODES[message.code].fatal;
  return message.id === undefined;
}

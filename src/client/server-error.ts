// Turning a server's `error` frame into a RexecError (PROTOCOL.md section 8).
import { ERROR_CODES, RexecError, isWireErrorCode } from '../errors.js';
import type { ErrorMessage } from '../protocol/messages.js';

/** The RexecError for an `error` frame; a code this client does not know is UNEXPECTED_FRAME. */
export function errorFromFrame(message: ErrorMessage): RexecError {
  const options = message.id === undefined ? undefined : { id: message.id };
  if (isWireErrorCode(message.code)) {
    const text = message.message === '' ? ERROR_CODES[message.code].summary : message.message;
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

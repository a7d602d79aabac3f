// One line per failure that says what went wrong and what to do about it, from the
// error's code and data (never from the server's wording), in terms of the user's flags.
import { LockoutError, NoGreetingError } from '../../client/index.js';
import { RexecError } from '../../errors.js';
import { CliError } from '../shared/cli-error.js';
import { printableLine } from '../shared/printable.js';
import type { ConnectionSettings } from './connection-options.js';

/** Where the failure happened: while connecting and authenticating, or after. */
export interface FailureContext {
  /** True for a failure of connect() (before the client existed). */
  readonly connecting?: boolean;
}

/**
 * The `rexec: ...` text (without the prefix) for an error, in terms of the user's flags:
 * one line, whatever the server's words in it (escaped, see printable.ts).
 */
export function failureMessage(error: unknown, settings: ConnectionSettings, context: FailureContext = {}): string {
  return printableLine(failureText(error, settings, context));
}

function failureText(error: unknown, settings: ConnectionSettings, context: FailureContext): string {
  if (error instanceof CliError) return error.message;
  if (error instanceof NoGreetingError) {
    const seen = error.reason === 'tls' ? 'it answered with TLS' : 'it said nothing';
    // Only plain connections are watched: a TLS client has its own errors.
    return `no rexec greeting: if the server uses TLS, add --tls (${settings.host}:${settings.port}: ${seen})`;
  }
  if (error instanceof LockoutError) {
    // A lockout is not a wrong key: a user told otherwise would replace a good key.
    const forUser = settings.user === 'default' ? '' : ` for user "${settings.user}"`;
    return `locked out by the server for ${error.seconds} s after repeated failed logins${forUser}; the key was not checked: try again then`;
  }
  if (!(error instanceof RexecError)) return `unexpected failure: ${String(error)}`;
  return rexecErrorMessage(error, settings, context);
}

/** The code --json and the fan-out's summary give an error. */
export function failureCode(error: unknown): string {
  return error instanceof RexecError || error instanceof CliError ? error.code : 'UNEXPECTED';
}

function rexecErrorMessage(error: RexecError, settings: ConnectionSettings, context: FailureContext): string {
  const target = `${settings.host}:${settings.port}`;
  const forUser = settings.user === 'default' ? '' : ` for user "${settings.user}"`;
  switch (error.code) {
    case 'CONNECT_FAILED':
      return (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED'
        ? `cannot connect to ${target} (connection refused): is rexecd running? ` +
            'start it with "npx rexecd", or give its address with -H and -p'
        : `${error.message} check -H and -p${tlsHint(settings)}`;
    case 'AUTH_FAILED':
      return (
        `authentication failed: the key in ${settings.keyFile} is not the server's key${forUser} ` +
        `(use -k${forUser === '' ? '' : ' or -u'})`
      );
    case 'KEY_FILE':
      return `${error.message}: copy the server's key file there, or give its path with -k`;
    case 'SERVER_PROOF':
      return `${target}: ${error.message}; check -H, -p and -k`;
    case 'UNSUPPORTED_VERSION':
      return `${target}: ${error.message}; use rexec and rexecd of the same version`;
    case 'TOO_MANY_CONNECTIONS':
      // The server's message names the rule that refused (server full, or too many
      // logins in progress from this address).
      return `the server at ${target} has too many connections (${error.message}): try again later`;
    case 'AUTH_TIMEOUT':
    case 'IDLE_TIMEOUT':
      return `the server at ${target} closed the connection (${error.code}): ${error.message}`;
    case 'CONNECTION_CLOSED':
      // Closed before authentication: maybe a TLS server, or one that refused our certificate.
      return `connection to ${target} lost: ${error.message}${context.connecting === true ? tlsHint(settings) : ''}`;
    case 'TLS':
    case 'CONFIG':
      return error.message;
    case 'PROTOCOL':
    case 'FRAME_TOO_LARGE':
    case 'UNEXPECTED_FRAME':
      return `protocol error with ${target} (${error.code}): ${error.message}; is it a rexecd of the same version?`;
    case 'NOT_FOUND':
      return `${error.message} (on the server; its PATH is fixed: check the name, or give a full path)`;
    case 'DENIED':
      return `denied by the server: ${error.message}`;
    case 'SPAWN_FAILED':
      return `the server could not start the command: ${error.message}`;
    case 'BUSY':
      return `the server is busy: ${error.message}; try again later`;
    case 'SHUTTING_DOWN':
      return `the server is shutting down: try again later`;
    default:
      return `${error.code}: ${error.message}`;
  }
}

// A plain client gets no hello from a TLS server, which closes it after its handshake
// deadline; a TLS server that does not trust a client certificate closes right after the
// handshake, without saying why.
function tlsHint(settings: ConnectionSettings): string {
  if (settings.tls === undefined) return ' (if the server uses TLS, add --tls)';
  if (settings.tls.cert !== undefined) return ' (does the server trust the client certificate of --tls-cert?)';
  return '';
}

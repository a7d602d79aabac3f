// Fixed numbers of the wire protocol (docs/protocol.md sections 2-4).

/** The protocol version this implementation speaks. */
export const PROTOCOL_VERSION = 1;

/** Bytes in the frame prefix: u32 header length, u32 body length. */
export const PREFIX_LENGTH = 8;

/** Largest header, in bytes (section 2). */
export const MAX_HEADER_LENGTH = 65536;

/** Largest body, in bytes (section 2). */
export const MAX_BODY_LENGTH = 1048576;

/** Largest request id (section 4): 2^31 - 1. */
export const MAX_ID = 2147483647;

/** Where clients connect and rexecd listens unless told otherwise: this machine's loopback. */
export const DEFAULT_HOST = '127.0.0.1';

/** rexecd's TCP port unless told otherwise, and where clients look for it. */
export const DEFAULT_PORT = 7077;

/** The user name an `auth` without `user` means, and the one user of a single-key server (section 3). */
export const DEFAULT_USER = 'default';

/**
 * Stdin bytes of one request a client may have sent and not yet had acknowledged, when
 * it asks for acknowledgements (`exec.stdinAck`, a rexec extension announced by
 * `hello.stdinWindow`): the server then never has to stop reading the connection for a
 * process that does not read its stdin, so a `signal` behind that stdin still arrives.
 * Large enough for a fast stream across a network (1 MiB per round trip), small enough
 * that the server can hold it for every running command.
 */
export const STDIN_WINDOW = 1024 * 1024;

/** Bytes behind each base64 nonce (section 3). */
export const NONCE_LENGTH = 32;

/** Signals a client may send (section 4). */
export const SIGNAL_NAMES = ['SIGINT', 'SIGTERM', 'SIGKILL', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

export type SignalName = (typeof SIGNAL_NAMES)[number];

/** True when `name` is a signal a client may send. */
export function isSignalName(name: string): name is SignalName {
  return (SIGNAL_NAMES as readonly string[]).includes(name);
}

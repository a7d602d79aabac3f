// The one registry of error codes: the protocol's (docs/protocol.md section 8) and the
// client's own. Codes are API; messages may change.

/** What a code means and whether it ends the connection. */
export interface ErrorCodeInfo {
  /** Sent on the wire by rexecd (true) or raised only inside the client (false). */
  readonly wire: boolean;
  /** Fatal codes are followed by the server closing the connection. */
  readonly fatal: boolean;
  /** One line for docs and `--help`. */
  readonly summary: string;
}

export const ERROR_CODES = {
  PROTOCOL: {
    wire: true,
    fatal: true,
    summary: 'malformed frame, or a known header member of the wrong JSON type',
  },
  FRAME_TOO_LARGE: { wire: true, fatal: true, summary: 'header or body length over the limits' },
  AUTH_REQUIRED: { wire: true, fatal: true, summary: 'a frame other than auth before auth-ok' },
  AUTH_FAILED: { wire: true, fatal: true, summary: 'wrong proof or unknown user' },
  AUTH_TIMEOUT: { wire: true, fatal: true, summary: 'no valid auth before the deadline' },
  IDLE_TIMEOUT: { wire: true, fatal: true, summary: 'idle limit reached' },
  TOO_MANY_CONNECTIONS: {
    wire: true,
    fatal: true,
    summary: 'sent instead of hello when the server is full',
  },
  UNSUPPORTED: { wire: true, fatal: false, summary: 'a frame type the server does not know' },
  BAD_REQUEST: {
    wire: true,
    fatal: false,
    summary: 'a required member missing, or a member of the right type with an invalid value',
  },
  DUPLICATE_ID: { wire: true, fatal: false, summary: 'exec with the id of a running request' },
  UNKNOWN_ID: { wire: true, fatal: false, summary: 'stdin or signal for an id that is not running' },
  DENIED: {
    wire: true,
    fatal: false,
    summary: "the server's policy forbids this command, cwd or env (or a shell)",
  },
  NOT_FOUND: { wire: true, fatal: false, summary: 'the executable does not exist' },
  SPAWN_FAILED: {
    wire: true,
    fatal: false,
    summary: 'the process could not be started for another reason',
  },
  BUSY: { wire: true, fatal: false, summary: 'the limit of running commands is reached' },
  SHUTTING_DOWN: { wire: true, fatal: false, summary: 'the server is draining' },
  EXISTS: {
    wire: true,
    fatal: false,
    summary: 'put to an existing path without overwrite (file transfer extension)',
  },

  // Raised locally (by the client library or a program's start-up), never sent on the wire.
  CONNECT_FAILED: {
    wire: false,
    fatal: true,
    summary: 'the server could not be reached (refused, unreachable, timed out)',
  },
  CONNECTION_CLOSED: {
    wire: false,
    fatal: true,
    summary: 'the connection closed or broke before the exchange was complete',
  },
  SERVER_PROOF: {
    wire: false,
    fatal: true,
    summary: "the server's auth-ok proof is wrong: it does not know the key",
  },
  UNEXPECTED_FRAME: {
    wire: false,
    fatal: true,
    summary: 'the server sent a frame the protocol does not allow at that point',
  },
  UNSUPPORTED_VERSION: {
    wire: false,
    fatal: true,
    summary: 'the server speaks a protocol version this client does not',
  },
  KEY_FILE: { wire: false, fatal: true, summary: 'the key file is missing, unreadable or empty' },
  TLS: {
    wire: false,
    fatal: true,
    summary:
      "the TLS handshake failed, or the server's certificate is not the one expected (CA, pinned fingerprint, known_hosts)",
  },
  CONFIG: {
    wire: false,
    fatal: true,
    summary: 'a configuration file (policy, users) or a flag is invalid',
  },
  CHECKSUM_MISMATCH: {
    wire: false,
    fatal: false,
    summary: "a transferred file's byte count or sha256 differs from the server's done",
  },
  OUTPUT_LIMIT: {
    wire: false,
    fatal: false,
    summary: "a command's output passed what run() may hold (maxBuffer): the command was killed",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes that may appear in an `error` frame. */
export type WireErrorCode = {
  [K in ErrorCode]: (typeof ERROR_CODES)[K]['wire'] extends true ? K : never;
}[ErrorCode];

/** True when `code` is one of the registry's codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** True when `code` is a code that servers send in `error` frames. */
export function isWireErrorCode(code: unknown): code is WireErrorCode {
  return isErrorCode(code) && ERROR_CODES[code].wire;
}

/** What a RexecError carries besides its code and message. */
export interface RexecErrorOptions {
  /** The request id it concerns. */
  readonly id?: number;
  /**
   * The policy rule or limit that refused (`allow`, `limits.maxConcurrentPerUser`, ...):
   * code that decides what to audit reads this, never the message, whose wording may change.
   */
  readonly rule?: string;
  /**
   * This refusal is momentary: try again after about this many ms (the server's word in
   * an `error` frame, or the client's reading of a TLS server closing at once).
   */
  readonly retryMs?: number;
  readonly cause?: unknown;
}

/** An error with a stable protocol code, the request id it concerns and the rule that refused, if any. */
export class RexecError extends Error {
  readonly code: ErrorCode;
  readonly id: number | undefined;
  readonly rule: string | undefined;
  readonly retryMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: RexecErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RexecError';
    this.code = code;
    this.id = options?.id;
    this.rule = options?.rule;
    this.retryMs = options?.retryMs;
  }

  /** Whether this error ends the connection. */
  get fatal(): boolean {
    return ERROR_CODES[this.code].fatal;
  }
}

// The audit records and log lines of one connection's own life (audit.ts): each is
// written here, beside its log line, so that the two cannot drift apart. Until a
// connection presents a proof it writes no line of its own (`connect` comes with the
// proof): connections that never do are counted and summarised instead (refusals.ts).
import type { RexecError } from '../errors.js';
import type { AuditLog } from './audit.js';
import { clipMessage, clipText } from './log-text.js';
import type { LogFields, ServerLogger } from './logger.js';
import type { Refusals } from './refusals.js';
import { RequestRecords } from './request-records.js';

/** Where a connection's records go, and who it is. */
export interface RecordSinks {
  readonly audit: AuditLog;
  readonly logger: ServerLogger;
  readonly refusals: Refusals;
}

/** Who is at the other end: the connection's number, `address:port`, and the address alone (normalised). */
export interface Peer {
  readonly conn: number;
  readonly remote: string;
  readonly address: string;
}

/** The records of one connection. */
export class ConnectionRecords {
  readonly #sinks: RecordSinks;
  readonly #peer: Peer;
  /** `{conn, remote}`: the fields of every log line of this connection. */
  readonly fields: LogFields;
  #announced = false;
  #summarised = false;

  constructor(sinks: RecordSinks, peer: Peer) {
    this.#sinks = sinks;
    this.#peer = peer;
    this.fields = { conn: peer.conn, remote: peer.remote };
  }

  /** The records of an authenticated user's requests on this connection. */
  forUser(loggedUser: string): RequestRecords {
    return new RequestRecords(this.#sinks, this.#peer.conn, this.fields, loggedUser);
  }

  /** The connection's `connect` line, once it presents a proof (or at once without auth). */
  announce(): void {
    if (this.#announced) return;
    this.#announced = true;
    this.#sinks.audit.record({ event: 'connect', conn: this.#peer.conn, remote: this.#peer.remote });
    this.#sinks.logger.info(this.fields, 'connected');
  }

  /** A login refused without a check (a lockout): summarised; the close writes no line of its own. */
  lockedOut(name: string | null, message: string): void {
    this.#summarised = true;
    this.#sinks.refusals.lockedOut(this.#peer.conn, this.#peer.address, name, message);
  }

  authenticated(loggedUser: string): void {
    const { conn, remote } = this.#peer;
    this.#sinks.audit.record({ event: 'auth-ok', conn, remote, user: loggedUser });
    this.#sinks.logger.info({ ...this.fields, user: loggedUser }, 'authenticated');
  }

  authFailed(name: string | null, reason: string): void {
    const { conn, remote } = this.#peer;
    const user = name === null ? null : clipText(name);
    this.#sinks.audit.record({ event: 'auth-failed', conn, remote, user, reason });
    this.#sinks.logger.warn({ ...this.fields, user }, `authentication failed: ${reason}`);
  }

  /** An authenticated user refused the connection itself (a per-user connection limit). */
  userRefused(loggedUser: string, error: RexecError): void {
    this.#sinks.refusals.request({
      event: 'denied',
      conn: this.#peer.conn,
      user: loggedUser,
      id: null,
      reason: error.message,
      count: 1,
    });
  }

  /** A request-level error sent to the client. */
  requestError(error: RexecError): void {
    this.#sinks.logger.debug({ ...this.fields, id: error.id ?? null, code: error.code }, clipMessage(error.message));
  }

  /** A fatal error that ends the connection (unannounced connections are only summarised). */
  fatal(error: RexecError): void {
    if (this.#announced) this.#sinks.logger.warn({ ...this.fields, code: error.code }, clipMessage(error.message));
  }

  /** A bug of ours while handling this connection's frames: it costs this connection only. */
  internalError(error: unknown): void {
    this.#sinks.logger.error(
      { ...this.fields, err: (error as Error | undefined)?.stack ?? String(error) },
      'internal error',
    );
  }

  socketError(error: Error): void {
    this.#sinks.logger.debug({ ...this.fields, err: error.message }, 'socket error');
  }

  /**
   * The connection closed: `disconnect` for an announced one, else a summarised
   * `unauthenticated` refusal (`reason` is a code or how it closed, `detail` its text).
   */
  closed(loggedUser: string | null, reason: string, detail: string): void {
    if (this.#announced) {
      this.#sinks.audit.record({ event: 'disconnect', conn: this.#peer.conn, user: loggedUser, reason });
      this.#sinks.logger.info({ ...this.fields, user: loggedUser, reason }, 'disconnected');
    } else if (!this.#summarised) {
      this.#sinks.refusals.unauthenticated(this.#peer.conn, this.#peer.address, reason, detail);
    }
  }
}

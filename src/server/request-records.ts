// The audit records and log lines of an authenticated user's requests on one connection
// (audit.ts): an exec and its exit, a transfer and how it ended, and every refusal,
// each written here beside its log line. Refusals go through refusals.ts, which writes
// the first few in full and then summarises; what is audited, and as what, is decided
// from the error's code and rule (request-refusal.ts).
import { RexecError } from '../errors.js';
import type { ExitStatus } from '../protocol/server-messages.js';
import type { RequestSummary } from './log-text.js';
import { clipMessage, clipText, summarizeRequest } from './log-text.js';
import type { LogFields } from './logger.js';
import type { RecordSinks } from './connection-records.js';
import { execRefusal, transferRefusal } from './request-refusal.js';

/** How a transfer ended, as audited. */
export interface TransferRecord {
  readonly kind: 'put' | 'get';
  readonly id: number;
  /** The path the client sent, and the real path once known. */
  readonly path: string;
  readonly file: string | null;
  readonly result: 'done' | 'failed' | 'aborted';
  readonly bytes: number;
  readonly sha256: string | null;
  readonly error?: RexecError | undefined;
  readonly reason?: string;
}

/** The records of one user's requests on one connection. */
export class RequestRecords {
  readonly #sinks: RecordSinks;
  readonly #conn: number;
  readonly #fields: LogFields;
  /** The user name as logged (clipped). */
  readonly user: string;

  constructor(sinks: RecordSinks, conn: number, fields: LogFields, loggedUser: string) {
    this.#sinks = sinks;
    this.#conn = conn;
    this.#fields = fields;
    this.user = loggedUser;
  }

  /** A process started: `summary` is what it asked for (clipped), with its real cwd. */
  exec(id: number, pid: number, summary: RequestSummary & { readonly cwd: string }): void {
    this.#sinks.audit.record({ event: 'exec', conn: this.#conn, user: this.user, id, pid, request: summary });
    this.#sinks.logger.info({ ...this.#fields, id, pid, request: summary }, 'exec');
  }

  exit(id: number, pid: number, result: ExitStatus): void {
    this.#sinks.audit.record({ event: 'exit', conn: this.#conn, user: this.user, id, pid, ...result });
    this.#sinks.logger.info({ ...this.#fields, id, pid, ...result }, 'exit');
  }

  /**
   * An exec that got no process: `denied` for the policy's refusals, `exec-refused` for
   * one of its own (BAD_REQUEST, NOT_FOUND, SPAWN_FAILED), with what it asked for;
   * refusals for the connection's state are not audited. `header` may be invalid.
   */
  execRefused(header: object, id: number | null, error: unknown): void {
    const audit = execRefusal(error);
    if (audit === 'none') return;
    const reason = clipMessage(String((error as Error | undefined)?.message ?? error));
    const request = summarizeRequest(header);
    if (audit === 'denied') {
      this.#denied(id, reason, request);
      return;
    }
    const code = error instanceof RexecError ? error.code : 'SPAWN_FAILED';
    this.#sinks.refusals.request({
      event: 'exec-refused',
      conn: this.#conn,
      user: this.user,
      id,
      code,
      reason,
      request,
      count: 1,
    });
  }

  /** The policy's stdin limit cut a command's input. */
  stdinCut(error: RexecError): void {
    this.#denied(error.id ?? null, error.message);
  }

  /**
   * A put or get that never started: policy refusals as `denied`, the file system's as
   * the transfer's own event; SHUTTING_DOWN, DUPLICATE_ID and BUSY are not audited.
   */
  transferRefused(kind: 'put' | 'get', id: number, path: string, error: unknown): void {
    const audit = transferRefusal(error);
    if (audit === 'none' || !(error instanceof RexecError)) return;
    const clipped = clipText(path);
    const reason = clipMessage(error.message);
    if (audit === 'denied') {
      this.#denied(id, reason, kind === 'put' ? { put: clipped } : { get: clipped });
      return;
    }
    this.#sinks.refusals.request({
      event: kind,
      conn: this.#conn,
      user: this.user,
      id,
      path: clipped,
      file: null,
      bytes: 0,
      sha256: null,
      result: 'refused',
      code: error.code,
      reason,
      count: 1,
    });
  }

  /** A transfer's file is open: `ready` or `file` went out (a log line; the audit record comes at its end). */
  transferStarted(kind: 'put' | 'get', id: number, file: string): void {
    this.#sinks.logger.info({ ...this.#fields, id, [kind]: clipText(file) }, kind);
  }

  // One `denied` record: the rule's refusal, and what was asked for when there is one.
  #denied(id: number | null, reason: string, request?: object): void {
    this.#sinks.refusals.request({
      event: 'denied',
      conn: this.#conn,
      user: this.user,
      id,
      reason,
      ...(request === undefined ? {} : { request }),
      count: 1,
    });
  }

  /** How a transfer ended; a transfer given up before its file was open is audited only. */
  transferEnded(record: TransferRecord): void {
    const { kind, id, result, bytes, sha256, error } = record;
    this.#sinks.audit.record({
      event: kind,
      conn: this.#conn,
      user: this.user,
      id,
      path: clipText(record.path),
      file: record.file === null ? null : clipText(record.file),
      bytes,
      sha256,
      result,
      ...(error === undefined ? {} : { code: error.code, reason: clipMessage(error.message) }),
      ...(record.reason === undefined ? {} : { reason: record.reason }),
    });
    if (record.file !== null)
      this.#sinks.logger.info({ ...this.#fields, id, result, bytes, sha256 }, `${kind} ${result}`);
  }
}

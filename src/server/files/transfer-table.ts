// A connection's file transfers (PROTOCOL-files.md): opening them once the connection
// has checked ids and limits, routing `data` and `signal` to them, and recording how
// each ended (audit log, log, the counts it shares with commands).
import { RexecError } from '../../errors.js';
import type { DataRequest, GetRequest, PutRequest, SignalRequest } from '../../protocol/messages.js';
import type { AuditLog } from '../audit.js';
import type { FrameWriter } from '../frame-writer.js';
import type { LogFields, ServerLogger } from '../logger.js';
import { clipMessage, clipText } from '../log-text.js';
import type { Refusals } from '../refusals.js';
import { transferRefusal } from '../request-refusal.js';
import type { FileAccess } from './file-access.js';
import { GetTransfer, PutTransfer } from './transfer.js';
import type { Transfer, TransferHost, TransferOutcome } from './transfer.js';

/** What the table needs from its connection. */
export interface TransferTableHost {
  readonly writer: FrameWriter;
  readonly audit: AuditLog;
  readonly logger: ServerLogger;
  readonly fields: LogFields;
  readonly connectionId: number;
  /** Refusals: written in full up to a budget per user, then summarised. */
  readonly refusals: Refusals;
  /** The authenticated user (as logged: clipped). */
  user(): string;
  /** Who reads and writes this user's files. */
  files(): FileAccess;
  /** True once the connection has closed. */
  isClosed(): boolean;
  /** Stops reading the socket until the returned function is called. */
  holdReading(): () => void;
  /** A transfer started (+1) or ended (-1): the counts it shares with commands. */
  countChanged(delta: 1 | -1): void;
  /** Sends a request-level error (or ends the connection for a fatal one). */
  requestError(error: unknown): void;
}

/** The running transfers of one connection, by id. */
export class TransferTable {
  readonly #host: TransferTableHost;
  readonly #running = new Map<number, Transfer>();

  constructor(host: TransferTableHost) {
    this.#host = host;
  }

  /** Transfers running now. */
  get size(): number {
    return this.#running.size;
  }

  has(id: number): boolean {
    return this.#running.has(id);
  }

  /**
   * Opens a checked put or get: `ready` or `file` once the file system agreed, else the
   * request's error. The returned promise settles when that is decided.
   */
  start(request: PutRequest | GetRequest): Promise<void> {
    const files = this.#host.files();
    const host: TransferHost = {
      writer: this.#host.writer,
      holdReading: () => this.#host.holdReading(),
      ended: (transfer, outcome) => this.#ended(transfer, request.path, outcome),
    };
    const { id } = request;
    if (request.type === 'put') {
      return files.openPut(request).then(
        (opened) => {
          if (!this.#host.isClosed()) this.#started(new PutTransfer(id, request.size, opened, host));
          else {
            opened.abort();
            this.#gaveUp(request);
          }
        },
        (error: unknown) => this.refused(request, error),
      );
    }
    return files.openGet(id, request.path).then(
      (opened) => {
        if (!this.#host.isClosed()) this.#started(new GetTransfer(id, opened, host));
        else {
          opened.close();
          this.#gaveUp(request);
        }
      },
      (error: unknown) => this.refused(request, error),
    );
  }

  /**
   * A transfer that never started: the error goes to the client. Policy refusals are
   * audited as `denied` (as for exec); what the file system refused is audited as the
   * transfer's own event; SHUTTING_DOWN, DUPLICATE_ID and BUSY are not audited.
   */
  refused(request: PutRequest | GetRequest, error: unknown): void {
    const { refusals, connectionId: conn } = this.#host;
    const user = this.#host.user();
    const path = clipText(request.path);
    const audit = transferRefusal(error);
    if (audit === 'denied' && error instanceof RexecError) {
      refusals.request({
        event: 'denied',
        conn,
        user,
        id: request.id,
        reason: clipMessage(error.message),
        request: request.type === 'put' ? { put: path } : { get: path },
        count: 1,
      });
    } else if (audit === 'refused' && error instanceof RexecError) {
      refusals.request({
        event: request.type,
        conn,
        user,
        id: request.id,
        path,
        file: null,
        bytes: 0,
        sha256: null,
        result: 'refused',
        code: error.code,
        reason: clipMessage(error.message),
        count: 1,
      });
    }
    this.#host.requestError(error);
  }

  /** A `data` frame for a transfer of this table; false when `id` is none of them. */
  data(request: DataRequest, body: Buffer): boolean {
    const { id } = request;
    const transfer = this.#running.get(id);
    if (transfer === undefined) return false;
    if (transfer instanceof PutTransfer) {
      transfer.data(body, request.eof);
    } else {
      this.#host.requestError(new RexecError('BAD_REQUEST', `request ${id} is a get: its data comes from the server`, { id }));
    }
    return true;
  }

  /**
   * A `signal` for a transfer of this table (false when `id` is none of them): SIGINT
   * and SIGTERM abort it, its id free once this returns; other signals mean nothing to
   * a file.
   */
  signal(request: SignalRequest): boolean {
    const transfer = this.#running.get(request.id);
    if (transfer === undefined) return false;
    if (request.signal === 'SIGINT' || request.signal === 'SIGTERM') transfer.abort();
    return true;
  }

  /** The connection closed: every transfer is aborted (a put leaves nothing). */
  abortAll(): void {
    for (const transfer of [...this.#running.values()]) transfer.abort();
  }

  /** The server shuts down: every transfer ends with SHUTTING_DOWN for its id. */
  shutdownAll(): void {
    for (const transfer of [...this.#running.values()]) transfer.shutdown();
  }

  #started(transfer: Transfer): void {
    this.#running.set(transfer.id, transfer);
    this.#host.countChanged(1);
    this.#host.logger.info({ ...this.#host.fields, id: transfer.id, [transfer.kind]: clipText(transfer.path) }, transfer.kind);
  }

  // The connection closed while the file was being opened: nothing was transferred.
  #gaveUp(request: PutRequest | GetRequest): void {
    this.#host.audit.record({
      event: request.type,
      conn: this.#host.connectionId,
      user: this.#host.user(),
      id: request.id,
      path: clipText(request.path),
      file: null,
      bytes: 0,
      sha256: null,
      result: 'aborted',
      reason: 'the connection closed while the file was being opened',
    });
  }

  #ended(transfer: Transfer, path: string, outcome: TransferOutcome): void {
    if (this.#running.get(transfer.id) !== transfer) return;
    this.#running.delete(transfer.id);
    const { result, bytes, sha256, error } = outcome;
    this.#host.audit.record({
      event: transfer.kind,
      conn: this.#host.connectionId,
      user: this.#host.user(),
      id: transfer.id,
      path: clipText(path),
      file: clipText(transfer.path),
      bytes,
      sha256,
      result,
      ...(error === undefined ? {} : { code: error.code, reason: clipMessage(error.message) }),
    });
    this.#host.logger.info({ ...this.#host.fields, id: transfer.id, result, bytes, sha256 }, `${transfer.kind} ${result}`);
    this.#host.countChanged(-1);
  }
}

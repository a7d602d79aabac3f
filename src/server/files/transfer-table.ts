// A connection's file transfers (docs/protocol.md section 9): opening them once the session has
// checked ids and limits, routing `data` and `signal` to them, and recording how each
// ended (request-records.ts) and the counts it shares with commands.
import { RexecError } from '../../errors.js';
import type { DataRequest, GetRequest, PutRequest } from '../../protocol/file-requests.js';
import type { SignalRequest } from '../../protocol/requests.js';
import type { FrameWriter } from '../frame-writer.js';
import type { RequestRecords } from '../request-records.js';
import type { FileAccess } from './file-access.js';
import { GetTransfer, PutTransfer } from './transfer.js';
import type { Transfer, TransferHost, TransferOutcome } from './transfer.js';

/** What the table needs from its session. */
export interface TransferTableHost {
  readonly writer: FrameWriter;
  readonly records: RequestRecords;
  /** Who reads and writes this user's files. */
  files(): FileAccess;
  /** True once the connection has closed. */
  readonly closed: boolean;
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
  // Transfers still opening (their helper not yet ready), to give up at close or
  // shutdown; `answered` once the shutdown has told the client.
  readonly #opening = new Map<
    number,
    { readonly request: PutRequest | GetRequest; readonly controller: AbortController; answered: boolean }
  >();

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
    const opening = { request, controller: new AbortController(), answered: false };
    this.#opening.set(id, opening);
    const { signal } = opening.controller;
    // Whether an opened file may become a transfer: not once the connection closed or
    // the shutdown answered for it (then the client may reuse the id).
    const wanted = (): boolean => {
      if (this.#host.closed) this.#gaveUp(request);
      return !this.#host.closed && !opening.answered;
    };
    const failed = (error: unknown): void => {
      if (this.#host.closed) this.#gaveUp(request);
      else if (!opening.answered) this.refused(request, error);
    };
    const opened =
      request.type === 'put'
        ? files.openPut(request, signal).then((put) => {
            if (wanted()) this.#started(new PutTransfer(id, request.size, put, host));
            else put.abort();
          }, failed)
        : files.openGet(id, request.path, signal).then((get) => {
            if (wanted()) this.#started(new GetTransfer(id, get, host));
            else get.close();
          }, failed);
    return opened.finally(() => this.#opening.delete(id));
  }

  /** A transfer that never started: audited as its error says, and the error goes to the client. */
  refused(request: PutRequest | GetRequest, error: unknown): void {
    this.#host.records.transferRefused(request.type, request.id, request.path, error);
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
      this.#host.requestError(
        new RexecError('BAD_REQUEST', `request ${id} is a get: its data comes from the server`, { id }),
      );
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
    for (const opening of this.#opening.values()) opening.controller.abort();
    for (const transfer of [...this.#running.values()]) transfer.abort();
  }

  /**
   * The server starts to shut down: each transfer still opening is answered
   * SHUTTING_DOWN at once and its helper ended (it may take the grace period to go).
   */
  shutdownOpenings(): void {
    for (const [id, opening] of this.#opening) {
      opening.controller.abort();
      if (opening.answered || this.#host.closed) continue;
      opening.answered = true;
      this.refused(opening.request, new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id }));
    }
  }

  /** The server shuts down: every transfer ends with SHUTTING_DOWN for its id. */
  shutdownAll(): void {
    this.shutdownOpenings();
    for (const transfer of [...this.#running.values()]) transfer.shutdown();
  }

  #started(transfer: Transfer): void {
    this.#running.set(transfer.id, transfer);
    this.#host.countChanged(1);
    this.#host.records.transferStarted(transfer.kind, transfer.id, transfer.path);
  }

  // The connection closed while the file was being opened: nothing was transferred.
  #gaveUp(request: PutRequest | GetRequest): void {
    this.#host.records.transferEnded({
      kind: request.type,
      id: request.id,
      path: request.path,
      file: null,
      result: 'aborted',
      bytes: 0,
      sha256: null,
      reason: 'the connection closed while the file was being opened',
    });
  }

  #ended(transfer: Transfer, path: string, outcome: TransferOutcome): void {
    if (this.#running.get(transfer.id) !== transfer) return;
    this.#running.delete(transfer.id);
    const { result, bytes, sha256, error } = outcome;
    this.#host.records.transferEnded({
      kind: transfer.kind,
      id: transfer.id,
      path,
      file: transfer.path,
      result,
      bytes,
      sha256,
      error,
    });
    this.#host.countChanged(-1);
  }
}

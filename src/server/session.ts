// An authenticated user's use of one connection: the commands and file transfers it
// runs (they share ids and limits), the input, signals and sizes routed to them, and
// the process groups they leave behind. The connection (connection.ts) owns the socket
// and its phases; a session exists only once a user is admitted, so everything here
// has a user and a policy.
import { RexecError } from '../errors.js';
import { MAX_BODY_LENGTH, STDIN_WINDOW } from '../protocol/constants.js';
import { MAX_QUEUED_BYTES } from './options.js';
import type { ExecRequest, ResizeRequest } from '../protocol/exec-requests.js';
import type { DataRequest, GetRequest, PutRequest } from '../protocol/file-requests.js';
import type { PingRequest, SignalRequest, StdinRequest } from '../protocol/requests.js';
import type { Command, CommandResult } from './command.js';
import type { ConnectionHost } from './connection-host.js';
import { startExec } from './exec-start.js';
import type { Pending } from './exec-start.js';
import { fileAccessFor } from './files/file-access.js';
import type { FileAccess } from './files/file-access.js';
import { checkTransferPolicy } from './files/transfer-policy.js';
import { TransferTable } from './files/transfer-table.js';
import type { FrameWriter } from './frame-writer.js';
import type { UserPolicy } from './policy/user-policy.js';
import { endGroups, groupAlive } from './process-group.js';
import type { ReadFlow } from './read-flow.js';
import type { RequestRecords } from './request-records.js';

/** What a session needs from its connection. */
export interface SessionLink {
  readonly host: ConnectionHost;
  readonly writer: FrameWriter;
  readonly flow: ReadFlow;
  /** Sends a request-level error (SPAWN_FAILED for one that is not a RexecError), or ends the connection for a fatal one. */
  requestError(error: unknown, id?: number): void;
  /** A command or transfer ended: the idle time counts from now (section 6). */
  activity(): void;
}

/** One user's requests on one connection. */
export class Session {
  /** The user as authenticated (per-user counts and cgroups go by it). */
  readonly user: string;
  readonly policy: UserPolicy;
  readonly records: RequestRecords;
  readonly link: SessionLink;
  readonly #commands = new Map<number, Command>();
  readonly #transfers: TransferTable;
  /** Groups of finished commands that still have live members (their leaders reaped). */
  readonly #lingering = new Set<number>();
  readonly #stdinBytes = new Map<number, number>();
  #files: FileAccess | undefined;
  #closed = false;

  constructor(link: SessionLink, user: string, policy: UserPolicy, records: RequestRecords) {
    this.link = link;
    this.user = user;
    this.policy = policy;
    this.records = records;
    // The table reads `closed` through a getter, which has its own `this`.
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- see above
    const session = this;
    this.#transfers = new TransferTable({
      writer: link.writer,
      records,
      files: () => this.#fileAccess(),
      get closed() {
        return session.closed;
      },
      holdReading: () => link.flow.holdUntilReleased(),
      countChanged: (delta) => this.#countChanged(delta),
      requestError: (error) => link.requestError(error),
    });
    link.host.users.change(user, 'connections', 1);
  }

  /** True once the connection has closed: what is still starting is given up. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Commands and file transfers running now. */
  get running(): number {
    return this.#commands.size + this.#transfers.size;
  }

  exec(request: ExecRequest): Pending {
    return startExec(this, request);
  }

  /** DUPLICATE_ID and BUSY (section 8's order): commands and transfers share ids and limits. */
  checkSlot(id: number): void {
    if (this.#commands.has(id) || this.#transfers.has(id)) {
      throw new RexecError('DUPLICATE_ID', `request ${id} is already running`, { id });
    }
    const { maxConcurrent, maxConcurrentPerUser: perUser } = this.policy;
    if (this.running >= maxConcurrent) {
      throw new RexecError('BUSY', `${maxConcurrent} requests are already running on this connection`, { id });
    }
    if (perUser !== undefined && this.link.host.users.running(this.user) >= perUser) {
      const rule = 'limits.maxConcurrentPerUser';
      throw new RexecError('BUSY', `${this.user} already runs ${perUser} requests (rule: ${rule})`, { id, rule });
    }
  }

  /**
   * A start that goes on asynchronously (a cwd to resolve, a cgroup to create, a terminal's
   * or the file helper's process) holds one of the user's slots until it settles. Counted
   * only once a process ran, one user's starts on several connections all passed
   * `maxConcurrentPerUser` at once. (This connection's own frames wait behind it anyway.)
   */
  holdSlot(pending: Pending): Pending {
    if (pending === undefined) return undefined;
    const { users } = this.link.host;
    users.change(this.user, 'running', 1);
    return pending.finally(() => users.change(this.user, 'running', -1));
  }

  /** A command's process has started (its `started` frame is out). */
  commandStarted(command: Command): void {
    this.#commands.set(command.id, command);
    this.link.host.commandCountChanged(1);
    this.link.host.users.change(this.user, 'running', 1);
  }

  /** A command has sent `exit` (or would have, had the connection not closed). */
  commandFinished(command: Command, result: CommandResult): void {
    this.#commands.delete(command.id);
    this.#stdinBytes.delete(command.id);
    this.link.activity();
    if (groupAlive(command.pid)) {
      // The connection already closed (and ended what lingered): end this group now. Its
      // leader has been reaped: a process with its number is another one.
      if (this.#closed) endGroups([command.pid], this.link.host.options.graceMs, () => 'reaped');
      else this.#linger(command.pid);
    }
    this.records.exit(command.id, command.pid, result);
    this.link.host.users.change(this.user, 'running', -1);
    this.link.host.commandCountChanged(-1);
  }

  stdin(request: StdinRequest, body: Buffer): void {
    const { id } = request;
    if (this.#transfers.has(id)) {
      this.#refuse(new RexecError('BAD_REQUEST', `request ${id} is a file transfer: send data, not stdin`, { id }));
      return;
    }
    const command = this.#command(id);
    if (command === undefined) return;
    if (!command.hasStdin) {
      this.#refuse(new RexecError('BAD_REQUEST', `request ${id} was started without stdin`, { id }));
      return;
    }
    // Input the client sent before it heard of the cut is dropped quietly.
    if (command.stdinTruncated) return;
    if (command.stdinEnded) {
      this.#refuse(new RexecError('BAD_REQUEST', `stdin of request ${id} is already closed (eof)`, { id }));
      return;
    }
    const limit = this.policy.maxStdinBytes;
    if (limit !== undefined) {
      const before = this.#stdinBytes.get(id) ?? 0;
      const total = before + body.length;
      this.#stdinBytes.set(id, total);
      if (total > limit) {
        // The process gets exactly the first `limit` bytes, then end of file, and keeps
        // running; `exit` says stdinTruncated (the error is for clients that show errors).
        command.truncateStdin(body.subarray(0, limit - before), limit);
        const rule = 'limits.maxStdinBytes';
        const error = new RexecError('DENIED', `stdin over ${limit} bytes (rule: ${rule}): the rest is dropped`, {
          id,
          rule,
        });
        this.records.stdinCut(error);
        this.#refuse(error);
        return;
      }
    }
    // Section 5: a process that does not read its stdin slows the socket. A client that
    // asked for acknowledgements keeps at most a window in flight, which the pipe's
    // buffer holds: reading goes on (a `signal` behind the stdin still arrives), unless
    // the client sends past its window.
    const flowing = command.writeStdin(body, request.eof);
    if (
      !flowing &&
      (!command.acksStdin ||
        command.stdinBuffered > STDIN_WINDOW + MAX_BODY_LENGTH ||
        this.#stdinBuffered() > MAX_QUEUED_BYTES)
    ) {
      const { flow } = this.link;
      flow.hold(command);
      command.onStdinDrain(() => flow.release(command));
    }
  }

  // Stdin bytes waiting in all this connection's pipes: with windows, the server's
  // memory for them, bounded here as the frame queue is.
  #stdinBuffered(): number {
    let total = 0;
    for (const command of this.#commands.values()) total += command.stdinBuffered;
    return total;
  }

  signal(request: SignalRequest): void {
    if (this.#transfers.signal(request)) return;
    this.#command(request.id)?.signal(request.signal);
  }

  resize(request: ResizeRequest): void {
    const command = this.#command(request.id);
    if (command !== undefined && !command.resize(request.cols, request.rows)) {
      this.#refuse(
        new RexecError('BAD_REQUEST', `request ${request.id} was not started on a terminal (pty)`, { id: request.id }),
      );
    }
  }

  pong(request: PingRequest): void {
    this.link.writer.send(request.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: request.ts });
  }

  /**
   * A put or get, checked in section 8's order (SHUTTING_DOWN, DUPLICATE_ID, BUSY, DENIED
   * by policy), then the file system's word (DENIED, NOT_FOUND, ..., EXISTS last);
   * `ready` or `file` once the file is open. Frames behind it wait, as behind an exec's setup.
   */
  transfer(request: PutRequest | GetRequest): Pending {
    const { id } = request;
    try {
      if (this.link.host.draining) throw new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id });
      this.checkSlot(id);
      checkTransferPolicy(request, this.policy);
    } catch (error) {
      this.#transfers.refused(request, error);
      return undefined;
    }
    return this.holdSlot(this.#transfers.start(request));
  }

  data(request: DataRequest, body: Buffer): void {
    if (this.#transfers.data(request, body)) return;
    const { id } = request;
    if (this.#commands.has(id)) {
      this.#refuse(new RexecError('BAD_REQUEST', `request ${id} is a command, not an accepted put`, { id }));
    } else {
      this.#refuse(new RexecError('UNKNOWN_ID', `no request ${id} is running`, { id }));
    }
  }

  /** A second `auth` on an open connection. */
  alreadyAuthenticated(): void {
    this.#refuse(new RexecError('BAD_REQUEST', 'already authenticated'));
  }

  /**
   * Ends every running command (server shutdown); their `exit` frames are still sent.
   * Transfers still running are given up, each with a SHUTTING_DOWN error.
   */
  endCommands(): void {
    for (const command of this.#commands.values()) command.end('shutdown');
    this.#transfers.shutdownAll();
  }

  /** Transfers still opening get SHUTTING_DOWN at once (their helpers are ended). */
  stopOpenings(): void {
    this.#transfers.shutdownOpenings();
  }

  /** The connection closed: every process group it started is ended, every transfer aborted. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const command of this.#commands.values()) command.detach();
    this.#transfers.abortAll();
    endGroups([...this.#lingering], this.link.host.options.graceMs, () => 'reaped');
    this.#lingering.clear();
    this.link.host.users.change(this.user, 'connections', -1);
  }

  #command(id: number): Command | undefined {
    const command = this.#commands.get(id);
    if (command === undefined) this.#refuse(new RexecError('UNKNOWN_ID', `no request ${id} is running`, { id }));
    return command;
  }

  #refuse(error: RexecError): void {
    this.link.requestError(error);
  }

  // Keeps a finished command's group to end at close; groups that have died are
  // dropped first, so the set stays small and a reused pgid is never signalled.
  #linger(pgid: number): void {
    for (const old of this.#lingering) if (!groupAlive(old)) this.#lingering.delete(old);
    this.#lingering.add(pgid);
  }

  #countChanged(delta: 1 | -1): void {
    if (delta < 0) this.link.activity();
    this.link.host.commandCountChanged(delta);
    this.link.host.users.change(this.user, 'running', delta);
  }

  #fileAccess(): FileAccess {
    const { host } = this.link;
    this.#files ??= fileAccessFor(this.policy, host.environmentFor(this.policy), host.options.graceMs, (id) =>
      host.confine(this.user, this.policy, id),
    );
    return this.#files;
  }
}

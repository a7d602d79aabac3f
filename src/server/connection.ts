// One client connection: hello and auth (section 3), requests handled strictly in the
// order they arrive (section 4), backpressure on stdin (section 5), idle and auth
// deadlines, and an end that leaves no process behind (section 6).
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RexecError } from '../errors.js';
import { newNonce } from '../protocol/auth-proof.js';
import type { Frame } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/frame-decoder.js';
import { parseRequest } from '../protocol/messages.js';
import type { DataRequest, ExecRequest, GetRequest, PutRequest, Request, ResizeRequest, SignalRequest, StdinRequest } from '../protocol/messages.js';
import { Command } from './command.js';
import type { CommandResult } from './command.js';
import { prepareExec } from './exec-request.js';
import { FrameWriter } from './frame-writer.js';
import { buildHello, checkAuth, DEFAULT_USER } from './handshake.js';
import type { LogFields, ServerLogger } from './logger.js';
import { MAX_QUEUED_BYTES, MAX_QUEUED_FRAMES, OUTPUT_HIGH_WATER_MARK, REPLY_HARD_LIMIT } from './options.js';
import type { ResolvedServerOptions } from './options.js';
import { endGroups, groupAlive } from './process-group.js';
import { spawnProcess } from './spawn.js';
import type { ConfinementLease, ConfinementResult } from './confinement.js';
import type { SpawnedProcess, SpawnSpec } from './spawn.js';
import type { Deadlines } from './deadlines.js';
import type { AuditLog } from './audit.js';
import type { AuthGuard } from './auth-guard.js';
import type { UserPolicy } from './policy/user-policy.js';
import { fileAccessFor } from './files/file-access.js';
import type { FileAccess } from './files/file-access.js';
import { checkTransferPolicy } from './files/transfer-policy.js';
import { TransferTable } from './files/transfer-table.js';
import { normalizeAddress } from './admission.js';
import { clipMessage, clipText, summarizeRequest } from './log-text.js';
import type { Refusals } from './refusals.js';
import { lockoutMessage } from '../protocol/lockout.js';
import { execRefusal, isPolicyRefusal } from './request-refusal.js';

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly options: ResolvedServerOptions;
  readonly version: string;
  readonly draining: boolean;
  readonly logger: ServerLogger;
  readonly audit: AuditLog;
  readonly authGuard: AuthGuard;
  /** Refusals a client can repeat (lockouts, closes before auth, refused requests): summarised. */
  readonly refusals: Refusals;
  /** The server's shared timer for command timeouts. */
  readonly deadlines: Deadlines;
  /** `hello.limits.maxConcurrent`: the policy before anyone has authenticated. */
  readonly helloMaxConcurrent: number;
  /** `hello.shell`: whether any user may send shell commands (each is still checked). */
  readonly helloShell: boolean;
  /** `hello.pty`: whether commands can run on a pseudo-terminal here. */
  readonly ptySupported: boolean;
  /** The rules for a user. */
  policyFor(user: string): UserPolicy;
  /** The cgroup and OOM score a process of the user gets; release the lease once it has exited. */
  confine(user: string, policy: UserPolicy, id: number): ConfinementResult;
  /** The base environment (PATH, HOME, LANG) of a policy's commands. */
  environmentFor(policy: UserPolicy): Readonly<Record<string, string>>;
  /** Per-user counts across connections. */
  readonly users: UserCounters;
  /** A command of this connection started (+1) or finished (-1). */
  commandCountChanged(delta: 1 | -1): void;
  /** A command's process group started (the ledger of groups to end after a crash). */
  recordGroup(pgid: number): void;
  /** The connection has authenticated (or needs no auth): it leaves the unauthenticated count. */
  connectionAuthenticated(connection: Connection): void;
  /** The connection has closed and ended its processes. */
  connectionClosed(connection: Connection): void;
}

/** Connections and running commands per user, across the server. */
export interface UserCounters {
  connections(user: string): number;
  running(user: string): number;
  change(user: string, what: 'connections' | 'running', delta: 1 | -1): void;
}

// 'failing': a failed auth waits out its tarpit delay before the error is sent.
type State = 'auth' | 'open' | 'failing' | 'closed';

// How long a closing socket may take to flush before it is destroyed.
const CLOSE_FLUSH_MS = 5_000;

/** Serves one socket. */
export class Connection {
  readonly #socket: Socket;
  readonly #host: ConnectionHost;
  readonly #connectionId: number;
  readonly #remoteAddress: string;
  readonly #fields: LogFields;
  readonly #writer: FrameWriter;
  readonly #decoder: FrameDecoder;
  readonly #snonce = newNonce();
  readonly #commands = new Map<number, Command>();
  /** File transfers (PROTOCOL-files.md): they share ids and limits with commands. */
  readonly #transfers: TransferTable;
  #files: FileAccess | undefined;
  /** Groups of finished commands that still have live members. */
  readonly #lingering = new Set<number>();
  readonly #queue: Frame[] = [];
  /** Body bytes of the queued frames (1 MiB each at most: the count alone is no bound). */
  #queuedBytes = 0;
  #state: State;
  #user: string | undefined;
  /** The user name as logged (clipped). */
  #loggedUser: string | null = null;
  #policy: UserPolicy | undefined;
  // Until a connection presents a proof, it writes no line of its own (`connect` comes
  // with the proof): connections that never do are summarised (refusals.ts).
  #announced = false;
  #summarised = false;
  readonly #stdinBytes = new Map<number, number>();
  #processing = false;
  #stdinBlocked = 0;
  #readPaused = false;
  #floodWaiting = false;
  #lastActivity = performance.now();
  #authTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, host: ConnectionHost, connectionId: number) {
    this.#socket = socket;
    this.#host = host;
    this.#fields = { conn: connectionId, remote: `${socket.remoteAddress}:${socket.remotePort}` };
    this.#writer = new FrameWriter(socket, OUTPUT_HIGH_WATER_MARK);
    this.#decoder = new FrameDecoder((frame) => this.#enqueue(frame));
    this.#connectionId = connectionId;
    this.#remoteAddress = normalizeAddress(socket.remoteAddress);
    this.#transfers = new TransferTable({
      writer: this.#writer,
      audit: host.audit,
      logger: host.logger,
      fields: this.#fields,
      connectionId,
      user: () => this.#loggedUser as string,
      refusals: host.refusals,
      files: () => {
        const policy = this.#policy as UserPolicy;
        this.#files ??= fileAccessFor(policy, host.environmentFor(policy), host.options.graceMs, (id) =>
          host.confine(this.#user as string, policy, id),
        );
        return this.#files;
      },
      isClosed: () => this.#isClosed(),
      holdReading: () => this.#holdReading(),
      countChanged: (delta) => {
        if (delta < 0) this.#lastActivity = performance.now();
        host.commandCountChanged(delta);
        host.users.change(this.#user as string, 'running', delta);
      },
      requestError: (error) => this.#requestError(error),
    });
    const { options } = host;
    this.#state = options.auth.mode === 'none' ? 'open' : 'auth';
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('end', () => this.#close('client closed the connection'));
    socket.on('close', () => this.#close('connection closed'));
    socket.on('error', (error) => host.logger.debug({ ...this.#fields, err: error.message }, 'socket error'));
    this.#writer.send(
      buildHello(options.auth, this.#snonce, host.version, host.helloShell, host.helloMaxConcurrent, host.ptySupported),
    );
    if (this.#state === 'auth') {
      this.#authTimer = setTimeout(
        () => this.#fail(new RexecError('AUTH_TIMEOUT', `no valid auth within ${options.authTimeoutMs} ms`)),
        options.authTimeoutMs,
      );
    } else {
      this.#announce();
      this.#admit(DEFAULT_USER);
    }
  }

  // The connection's `connect` line, once it presents a proof (or at once without auth).
  #announce(): void {
    if (this.#announced) return;
    this.#announced = true;
    this.#host.audit.record({ event: 'connect', conn: this.#connectionId, remote: String(this.#fields['remote']) });
    this.#host.logger.info(this.#fields, 'connected');
  }

  /** True once the connection has closed (possibly already in its constructor). */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Commands and file transfers running now. */
  get running(): number {
    return this.#commands.size + this.#transfers.size;
  }

  /**
   * Ends every running command (server shutdown); their `exit` frames are still sent.
   * Transfers still running are given up, each with a SHUTTING_DOWN error.
   */
  endCommands(): void {
    for (const command of this.#commands.values()) command.end('shutdown');
    this.#transfers.shutdownAll();
  }

  /**
   * Closes the connection politely at the server's shutdown: queued frames are flushed
   * first, and then the socket is closed without waiting for the peer to close its side
   * (section 6: the server exits as soon as nothing runs, whatever its clients do).
   */
  shutdown(): void {
    this.#close('server shutting down', true);
    if (!this.#socket.destroyed) this.#socket.once('finish', () => this.#socket.destroy());
  }

  // A method, not a field read: the state may change across an await.
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #receive(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    this.#lastActivity = performance.now();
    try {
      this.#decoder.push(chunk);
    } catch (error) {
      // Framing errors (section 2) take precedence over everything else.
      this.#fail(error instanceof RexecError ? error : new RexecError('PROTOCOL', String(error)));
    }
  }

  #enqueue(frame: Frame): void {
    this.#queue.push(frame);
    this.#queuedBytes += frame.body.length;
    this.#updateReading();
    void this.#processQueue();
  }

  // Frames are handled one at a time in arrival order; an exec's setup may wait on
  // the file system, and the frames behind it wait too.
  async #processQueue(): Promise<void> {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (this.#queue.length > 0 && this.#state !== 'closed' && this.#state !== 'failing') {
        const frame = this.#queue.shift() as Frame;
        this.#queuedBytes -= frame.body.length;
        const pending = this.#handle(frame);
        if (pending !== undefined) await pending;
        if (this.#writer.queuedBytes > REPLY_HARD_LIMIT) this.#updateReading();
      }
    } catch (error) {
      // A bug of ours while handling a frame: it must cost this connection, never the
      // server and everyone else's commands.
      this.#host.logger.error({ ...this.#fields, err: (error as Error)?.stack ?? String(error) }, 'internal error');
      this.#close('internal error');
    } finally {
      this.#processing = false;
      this.#updateReading();
    }
  }

  #handle(frame: Frame): Promise<void> | undefined {
    if (this.#state === 'failing') return undefined;
    if (this.#state === 'auth' && frame.header.type !== 'auth') {
      this.#fail(new RexecError('AUTH_REQUIRED', `"${clip(frame.header.type)}" before authentication`));
      return undefined;
    }
    let request: Request;
    try {
      request = parseRequest(frame.header);
    } catch (error) {
      if (frame.header.type === 'exec' && this.#policy !== undefined) this.#auditExecRefusal(frame.header, error);
      this.#requestError(error);
      return undefined;
    }
    switch (request.type) {
      case 'auth':
        if (this.#state === 'auth') this.#authenticate(request);
        else this.#sendError(new RexecError('BAD_REQUEST', 'already authenticated'));
        return undefined;
      case 'exec':
        return this.#exec(request);
      case 'stdin':
        this.#stdin(request, frame.body);
        return undefined;
      case 'signal':
        this.#signal(request);
        return undefined;
      case 'ping':
        this.#writer.send(request.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: request.ts });
        return undefined;
      case 'put':
      case 'get':
        return this.#transfer(request);
      case 'data':
        this.#data(request, frame.body);
        return undefined;
      case 'resize':
        this.#resize(request);
        return undefined;
    }
  }

  #resize(request: ResizeRequest): void {
    const command = this.#command(request);
    if (command === undefined) return;
    if (!command.resize(request.cols, request.rows)) {
      this.#sendError(new RexecError('BAD_REQUEST', `request ${request.id} was not started on a terminal (pty)`, { id: request.id }));
    }
  }

  #authenticate(request: Parameters<typeof checkAuth>[0]): void {
    const { auth } = this.#host.options;
    if (auth.mode === 'none') return;
    const guard = this.#host.authGuard;
    const name = request.user ?? DEFAULT_USER;
    // A lockout refuses without checking the proof, and says so (PROTOCOL.md section 3).
    const lockout = guard.lockedOut(this.#remoteAddress, name);
    if (lockout !== undefined) {
      const message = lockoutMessage(lockout.ms / 1000, lockout.scope);
      this.#host.refusals.lockedOut(this.#connectionId, this.#remoteAddress, request.user ?? null, message);
      this.#summarised = true;
      this.#fail(new RexecError('AUTH_FAILED', message));
      return;
    }
    this.#announce();
    let success;
    try {
      success = checkAuth(request, auth.keys, this.#snonce);
    } catch {
      this.#authFailed(request.user ?? null, 'wrong proof or unknown user', guard.failed(this.#remoteAddress, name));
      return;
    }
    guard.succeeded(this.#remoteAddress, success.user);
    clearTimeout(this.#authTimer);
    this.#writer.send({ type: 'auth-ok', user: success.user, proof: success.proof });
    const user = clipText(success.user);
    this.#host.audit.record({ event: 'auth-ok', conn: this.#connectionId, remote: String(this.#fields['remote']), user });
    this.#host.logger.info({ ...this.#fields, user }, 'authenticated');
    this.#state = 'open';
    this.#admit(success.user);
  }

  // The failure is answered after a delay that grows with the address's failures.
  #authFailed(name: string | null, reason: string, delayMs: number): void {
    const user = name === null ? null : clipText(name);
    this.#host.audit.record({ event: 'auth-failed', conn: this.#connectionId, remote: String(this.#fields['remote']), user, reason });
    this.#host.logger.warn({ ...this.#fields, user }, `authentication failed: ${reason}`);
    const error = new RexecError('AUTH_FAILED', 'authentication failed: wrong key or unknown user');
    if (delayMs <= 0) {
      this.#fail(error);
      return;
    }
    this.#state = 'failing';
    clearTimeout(this.#authTimer);
    this.#authTimer = setTimeout(() => this.#fail(error), delayMs);
  }

  // An authenticated user starts using the connection: its policy and its counts.
  #admit(user: string): void {
    const policy = this.#host.policyFor(user);
    const users = this.#host.users;
    this.#user = user;
    this.#loggedUser = clipText(user);
    this.#host.connectionAuthenticated(this);
    if (policy.maxConnectionsPerUser !== undefined && users.connections(user) >= policy.maxConnectionsPerUser) {
      const error = new RexecError(
        'TOO_MANY_CONNECTIONS',
        `${this.#loggedUser} already has ${policy.maxConnectionsPerUser} connections (rule: limits.maxConnectionsPerUser)`,
        { rule: 'limits.maxConnectionsPerUser' },
      );
      this.#host.refusals.request({ event: 'denied', conn: this.#connectionId, user: this.#loggedUser, id: null, reason: error.message, count: 1 });
      this.#fail(error);
      return;
    }
    this.#policy = policy;
    users.change(user, 'connections', 1);
    this.#armIdle(this.#host.options.idleTimeoutMs);
  }

  // Synchronous unless the cwd must be resolved or the system refused the spawn: an
  // await on the common path costs event-loop turns on every command.
  #exec(request: ExecRequest): Promise<void> | undefined {
    const { id } = request;
    const policy = this.#policy as UserPolicy;
    const user = this.#user as string;
    try {
      // BAD_REQUEST comes before every other check (section 8's precedence).
      if (request.pty !== undefined && !this.#host.ptySupported) {
        throw new RexecError('BAD_REQUEST', 'this server cannot run commands on a terminal (node-pty is not installed)', { id });
      }
      if (this.#host.draining) throw new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id });
      this.#checkSlot(id, policy, user);
      const spec = prepareExec(request, policy, this.#host.environmentFor(policy));
      if (spec instanceof Promise) {
        return spec.then(
          (resolved) => this.#confine(request, resolved),
          (error: unknown) => this.#execError(request, error),
        );
      }
      return this.#confine(request, spec);
    } catch (error) {
      this.#execError(request, error);
      return undefined;
    }
  }

  // DUPLICATE_ID and BUSY (section 8's order): commands and transfers share ids and limits.
  #checkSlot(id: number, policy: UserPolicy, user: string): void {
    if (this.#commands.has(id) || this.#transfers.has(id)) {
      throw new RexecError('DUPLICATE_ID', `request ${id} is already running`, { id });
    }
    if (this.running >= policy.maxConcurrent) {
      throw new RexecError('BUSY', `${policy.maxConcurrent} requests are already running on this connection`, {
        id,
      });
    }
    const perUser = policy.maxConcurrentPerUser;
    if (perUser !== undefined && this.#host.users.running(user) >= perUser) {
      throw new RexecError('BUSY', `${user} already runs ${perUser} requests (rule: limits.maxConcurrentPerUser)`, {
        id,
        rule: 'limits.maxConcurrentPerUser',
      });
    }
  }

  #execError(request: ExecRequest, error: unknown): void {
    // Policy refusals are audited as `denied`: DENIED, and BUSY when a per-user rule said no.
    if (isPolicyRefusal(error)) {
      this.#host.refusals.request({
        event: 'denied',
        conn: this.#connectionId,
        user: this.#loggedUser as string,
        id: request.id,
        reason: clipMessage(error.message),
        request: summarizeRequest(request),
        count: 1,
      });
    } else {
      this.#auditExecRefusal(request, error);
    }
    this.#requestError(error, request.id);
  }

  // An exec that got no process for a reason of its own (BAD_REQUEST, NOT_FOUND,
  // SPAWN_FAILED): audited with what it asked for. Refusals for the connection's state
  // (DUPLICATE_ID, BUSY, SHUTTING_DOWN) are not.
  #auditExecRefusal(header: ExecRequest | Frame['header'], error: unknown): void {
    if (execRefusal(error) !== 'refused') return;
    const code = error instanceof RexecError ? error.code : 'SPAWN_FAILED';
    this.#host.refusals.request({
      event: 'exec-refused',
      conn: this.#connectionId,
      user: this.#loggedUser as string,
      id: typeof header['id'] === 'number' ? header['id'] : null,
      code,
      reason: clipMessage(String((error as Error)?.message ?? error)),
      request: summarizeRequest(header),
      count: 1,
    });
  }

  // The user's cgroup (created first if it is not there yet: asynchronous then).
  #confine(request: ExecRequest, spec: SpawnSpec): Promise<void> | undefined {
    if (this.#isClosed()) return undefined;
    let lease: ConfinementResult;
    try {
      lease = this.#host.confine(this.#user as string, this.#policy as UserPolicy, request.id);
    } catch (error) {
      this.#execError(request, error);
      return undefined;
    }
    if (lease instanceof Promise) {
      return lease.then(
        (held) => this.#spawn(request, spec, held),
        (error: unknown) => this.#execError(request, error),
      );
    }
    return this.#spawn(request, spec, lease);
  }

  #spawn(request: ExecRequest, spec: SpawnSpec, lease: ConfinementLease | undefined): Promise<void> | undefined {
    if (this.#isClosed()) {
      lease?.release();
      return undefined;
    }
    let spawned: ReturnType<typeof spawnProcess>;
    try {
      // child_process.spawn throws at once for some errors (ETXTBSY, ENOTDIR, ...).
      spawned = spawnProcess(lease === undefined ? spec : { ...spec, confinement: lease.confinement });
    } catch (error) {
      lease?.release();
      this.#execError(request, error);
      return undefined;
    }
    if (spawned instanceof Promise) {
      return spawned.then(
        (started) => this.#started(request, spec, started, lease),
        (error: unknown) => {
          lease?.release();
          this.#execError(request, error);
        },
      );
    }
    this.#started(request, spec, spawned, lease);
    return undefined;
  }

  #started(request: ExecRequest, spec: SpawnSpec, spawned: SpawnedProcess, lease: ConfinementLease | undefined): void {
    if (this.#isClosed()) {
      // The connection closed while the process was being started (a terminal's helper).
      endGroups([spawned.pid], this.#host.options.graceMs);
      spawned.stdout.destroy();
      void spawned.exited.then(() => lease?.release());
      return;
    }
    // In the ledger before `started` goes out: once a client knows of a process, a
    // rexecd killed right then still leaves a trace of it for its successor.
    this.#host.recordGroup(spawned.pid);
    const { options } = this.#host;
    const policy = this.#policy as UserPolicy;
    const user = this.#user as string;
    const { id } = request;
    const timeoutMs = Math.min(request.timeoutMs ?? policy.timeoutMs, policy.timeoutMs);
    const command = new Command(
      id,
      spawned,
      this.#writer,
      {
        timeoutMs,
        deadlines: this.#host.deadlines,
        graceMs: options.graceMs,
        maxOutputBytes: policy.maxOutputBytes,
        endGroupOnExit: spec.sandboxRoot !== undefined,
      },
      (result) => {
        lease?.release();
        this.#finished(command, result);
      },
    );
    this.#commands.set(id, command);
    this.#host.commandCountChanged(1);
    this.#host.users.change(user, 'running', 1);
    const summary = { ...summarizeRequest(request), cwd: clipText(spec.cwd) };
    this.#host.audit.record({ event: 'exec', conn: this.#connectionId, user: this.#loggedUser as string, id, pid: spawned.pid, request: summary });
    this.#host.logger.info({ ...this.#fields, id, pid: spawned.pid, request: summary }, 'exec');
  }

  #finished(command: Command, result: CommandResult): void {
    const user = this.#user as string;
    this.#commands.delete(command.id);
    this.#stdinBytes.delete(command.id);
    this.#lastActivity = performance.now();
    if (groupAlive(command.pid)) {
      // The connection already closed (and ended what lingered): end this group now.
      if (this.#isClosed()) endGroups([command.pid], this.#host.options.graceMs);
      else this.#linger(command.pid);
    }
    this.#host.audit.record({ event: 'exit', conn: this.#connectionId, user: this.#loggedUser as string, id: command.id, pid: command.pid, ...result });
    this.#host.logger.info({ ...this.#fields, id: command.id, pid: command.pid, ...result }, 'exit');
    this.#host.users.change(user, 'running', -1);
    this.#host.commandCountChanged(-1);
  }

  // Keeps a finished command's group to end at close; groups that have died are
  // dropped first, so the set stays small and a reused pgid is never signalled.
  #linger(pgid: number): void {
    for (const old of this.#lingering) if (!groupAlive(old)) this.#lingering.delete(old);
    this.#lingering.add(pgid);
  }

  #stdin(request: StdinRequest, body: Buffer): void {
    if (this.#transfers.has(request.id)) {
      this.#sendError(new RexecError('BAD_REQUEST', `request ${request.id} is a file transfer: send data, not stdin`, { id: request.id }));
      return;
    }
    const command = this.#command(request);
    if (command === undefined) return;
    if (!command.hasStdin) {
      this.#sendError(new RexecError('BAD_REQUEST', `request ${request.id} was started without stdin`, { id: request.id }));
      return;
    }
    // Input the client sent before it heard of the cut is dropped quietly.
    if (command.stdinTruncated) return;
    if (command.stdinEnded) {
      this.#sendError(new RexecError('BAD_REQUEST', `stdin of request ${request.id} is already closed (eof)`, { id: request.id }));
      return;
    }
    const limit = this.#policy?.maxStdinBytes;
    if (limit !== undefined) {
      const before = this.#stdinBytes.get(request.id) ?? 0;
      const total = before + body.length;
      this.#stdinBytes.set(request.id, total);
      if (total > limit) {
        // The process gets exactly the first `limit` bytes, then end of file, and keeps
        // running; `exit` says stdinTruncated (the error is for clients that show errors).
        command.truncateStdin(body.subarray(0, limit - before), limit);
        const error = new RexecError('DENIED', `stdin over ${limit} bytes (rule: limits.maxStdinBytes): the rest is dropped`, {
          id: request.id,
          rule: 'limits.maxStdinBytes',
        });
        this.#host.refusals.request({ event: 'denied', conn: this.#connectionId, user: this.#loggedUser as string, id: request.id, reason: error.message, count: 1 });
        this.#sendError(error);
        return;
      }
    }
    if (!command.writeStdin(body, request.eof)) {
      // Section 5: a process that does not read its stdin slows the socket.
      this.#stdinBlocked += 1;
      this.#updateReading();
      command.onStdinDrain(() => {
        this.#stdinBlocked -= 1;
        this.#updateReading();
      });
    }
  }

  #signal(request: SignalRequest): void {
    if (this.#transfers.signal(request)) return;
    this.#command(request)?.signal(request.signal);
  }

  // ---- file transfers (PROTOCOL-files.md) ----

  // Checked in section 8's order (SHUTTING_DOWN, DUPLICATE_ID, BUSY, DENIED by policy),
  // then the file system's word (DENIED, NOT_FOUND, ..., EXISTS last); `ready` or `file`
  // once the file is open. Frames behind it wait, as behind an exec's setup.
  #transfer(request: PutRequest | GetRequest): Promise<void> | undefined {
    const { id } = request;
    try {
      if (this.#host.draining) throw new RexecError('SHUTTING_DOWN', 'the server is shutting down', { id });
      const policy = this.#policy as UserPolicy;
      this.#checkSlot(id, policy, this.#user as string);
      checkTransferPolicy(request, policy);
    } catch (error) {
      this.#transfers.refused(request, error);
      return undefined;
    }
    return this.#transfers.start(request);
  }

  #data(request: DataRequest, body: Buffer): void {
    if (this.#transfers.data(request, body)) return;
    const { id } = request;
    if (this.#commands.has(id)) {
      this.#sendError(new RexecError('BAD_REQUEST', `request ${id} is a command, not an accepted put`, { id }));
    } else {
      this.#sendError(new RexecError('UNKNOWN_ID', `no request ${id} is running`, { id }));
    }
  }

  // Put data faster than the file takes it: stop reading the socket until it drains
  // (the same pause as for a process's full stdin, section 5).
  #holdReading(): () => void {
    let held = true;
    this.#stdinBlocked += 1;
    this.#updateReading();
    return () => {
      if (!held) return;
      held = false;
      this.#stdinBlocked -= 1;
      this.#updateReading();
    };
  }

  #command(request: { id: number; type: string }): Command | undefined {
    const command = this.#commands.get(request.id);
    if (command === undefined) {
      this.#sendError(new RexecError('UNKNOWN_ID', `no request ${request.id} is running`, { id: request.id }));
    }
    return command;
  }

  #updateReading(): void {
    const replyFlood = this.#writer.queuedBytes > REPLY_HARD_LIMIT;
    if (replyFlood && !this.#floodWaiting) {
      this.#floodWaiting = true;
      this.#writer.whenDrained(() => {
        this.#floodWaiting = false;
        this.#updateReading();
      });
    }
    const pause =
      this.#stdinBlocked > 0 ||
      this.#queue.length >= MAX_QUEUED_FRAMES ||
      this.#queuedBytes >= MAX_QUEUED_BYTES ||
      replyFlood;
    if (pause && !this.#readPaused) this.#socket.pause();
    else if (!pause && this.#readPaused) this.#socket.resume();
    this.#readPaused = pause;
  }

  #requestError(error: unknown, id?: number): void {
    const rexecError =
      error instanceof RexecError
        ? error
        : new RexecError('SPAWN_FAILED', String((error as Error)?.message ?? error), id === undefined ? undefined : { id });
    if (rexecError.fatal) this.#fail(rexecError);
    else this.#sendError(rexecError);
  }

  #sendError(error: RexecError): void {
    // Messages may quote what a client sent (a path, a name): clipped, an error frame
    // always fits in a header.
    const message = clip(error.message, MAX_ERROR_MESSAGE);
    const frame = error.id === undefined
      ? { type: 'error', code: error.code, message }
      : { type: 'error', code: error.code, message, id: error.id };
    this.#writer.send(frame);
    if (!error.fatal) this.#host.logger.debug({ ...this.#fields, id: error.id ?? null, code: error.code }, clipMessage(error.message));
  }

  /** A fatal error: say why, then close (section 8). */
  #fail(error: RexecError): void {
    if (this.#state === 'closed') return;
    if (this.#announced) this.#host.logger.warn({ ...this.#fields, code: error.code }, clipMessage(error.message));
    this.#sendError(error);
    this.#close(error.code, true, error.message);
  }

  #armIdle(delayMs: number): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#checkIdle(), delayMs);
  }

  // Section 6: idle since the later of the last frame and the end of the last command.
  #checkIdle(): void {
    const limit = this.#host.options.idleTimeoutMs;
    if (this.#state === 'closed') return;
    if (this.#commands.size > 0 || this.#transfers.size > 0) {
      this.#armIdle(limit);
      return;
    }
    const idleFor = performance.now() - this.#lastActivity;
    if (idleFor >= limit) {
      this.#fail(new RexecError('IDLE_TIMEOUT', `idle for ${limit} ms`));
    } else {
      this.#armIdle(Math.ceil(limit - idleFor));
    }
  }

  // Ends everything this connection started. `flush` lets queued frames go out first.
  #close(reason: string, flush = false, detail = reason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#authTimer);
    clearTimeout(this.#idleTimer);
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    for (const command of this.#commands.values()) command.detach();
    this.#transfers.abortAll();
    endGroups([...this.#lingering], this.#host.options.graceMs);
    this.#lingering.clear();
    if (flush && !this.#socket.destroyed) {
      this.#socket.end();
      setTimeout(() => this.#socket.destroy(), CLOSE_FLUSH_MS).unref();
    } else {
      this.#socket.destroy();
    }
    if (this.#policy !== undefined) this.#host.users.change(this.#user as string, 'connections', -1);
    if (this.#announced) {
      this.#host.audit.record({ event: 'disconnect', conn: this.#connectionId, user: this.#loggedUser, reason });
      this.#host.logger.info({ ...this.#fields, user: this.#loggedUser, reason }, 'disconnected');
    } else if (!this.#summarised) {
      this.#host.refusals.unauthenticated(this.#connectionId, this.#remoteAddress, reason, detail);
    }
    this.#host.connectionClosed(this);
  }
}

// Longest error message sent; client text quoted in one is cut to CLIP_LENGTH.
const MAX_ERROR_MESSAGE = 4096;
const CLIP_LENGTH = 200;

function clip(text: string, length = CLIP_LENGTH): string {
  return text.length > length ? `${text.slice(0, length)}...` : text;
}

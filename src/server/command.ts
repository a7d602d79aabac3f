// One running `exec` request (docs/protocol.md section 4): sends `started`, streams the
// process's output with backpressure, feeds its stdin, signals its process group,
// enforces its timeout and output cap, and sends exactly one `exit` once the process
// has exited and both pipes have reached end of file.
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { STDIN_WINDOW } from '../protocol/constants.js';
import type { SignalName } from '../protocol/constants.js';
import type { ExitStatus } from '../protocol/messages.js';
import { FrameWriter, outputHeader } from './frame-writer.js';
import type { OutputStream } from './frame-writer.js';
import type { SpawnedProcess, ProcessEnd } from './spawn.js';
import { signalGroup } from './process-group.js';
import type { Leader } from './process-group.js';
import type { Deadline, Deadlines } from './deadlines.js';

/** Limits and timings of one command. */
export interface CommandSettings {
  readonly timeoutMs: number;
  /** The server's shared deadline timer. */
  readonly deadlines: Deadlines;
  readonly graceMs: number;
  readonly maxOutputBytes: number | undefined;
  /**
   * End the whole group as soon as the started process exits (sandboxed commands: the
   * outer bwrap is the command; if it dies early, what it was starting must not live on).
   */
  readonly endGroupOnExit?: boolean;
  /** Acknowledge stdin bytes as the process's pipe takes them (`exec.stdinAck`). */
  readonly stdinAck?: boolean;
}

// How many taken stdin bytes gather before they are acknowledged.
const STDIN_ACK_EVERY = STDIN_WINDOW / 4;

/** What `exit` reports. */
export type CommandResult = ExitStatus;

/** Why the server ends a process group on its own. */
export type EndReason = 'timeout' | 'truncated' | 'closed' | 'shutdown';

/** A process started for one request id on one connection. */
export class Command {
  readonly id: number;
  readonly pid: number;
  readonly #writer: FrameWriter;
  readonly #process: SpawnedProcess;
  readonly #settings: CommandSettings;

  /** What is known of its leader, for group signals (process-group.ts). */
  #leader(): Leader | undefined {
    // Its exit is known once it was reaped (by rexecd, or by a terminal's helper).
    return this.#end !== undefined ? 'reaped' : this.#process.started;
  }

  readonly #onDone: (result: CommandResult) => void;
  readonly #startedAt = performance.now();
  readonly #bytes = { stdout: 0, stderr: 0 };
  readonly #paused = new Set<Readable>();
  readonly #openPipes = new Set<Readable>();
  readonly #resume = (): void => this.#resumeOutput();
  #end: ProcessEnd | undefined;
  #endReason: EndReason | undefined;
  #lastSignal: NodeJS.Signals | undefined;
  #timeout: Deadline | undefined;
  /** The SIGKILL that follows the SIGTERM of `end()`; never cancelled once set. */
  #sigkillTimer: NodeJS.Timeout | undefined;
  #abandonTimer: NodeJS.Timeout | undefined;
  #stdinOpen: boolean;
  #stdinEnded = false;
  /** Bytes of stdin kept when the policy's limit cut it, else undefined. */
  #stdinKept: number | undefined;
  /** Stdin bytes taken (or dropped) since the last `stdin-ack` (only with stdinAck). */
  #unacked = 0;
  #done = false;
  /** Set when the connection is gone: nothing more is sent. */
  #silent = false;

  constructor(
    id: number,
    spawned: SpawnedProcess,
    writer: FrameWriter,
    settings: CommandSettings,
    onDone: (result: CommandResult) => void,
  ) {
    this.id = id;
    this.pid = spawned.pid;
    this.#process = spawned;
    this.#writer = writer;
    this.#settings = settings;
    this.#onDone = onDone;
    this.#stdinOpen = spawned.stdin !== undefined;
    writer.send({ type: 'started', id, pid: spawned.pid });
    this.#pipe(spawned.stdout, 'stdout');
    if (spawned.stderr !== undefined) this.#pipe(spawned.stderr, 'stderr');
    spawned.stdin?.on('error', () => {
      // EPIPE: the process closed its stdin or exited; later input is dropped.
      this.#stdinOpen = false;
    });
    spawned.exited.then(
      (end) => {
        this.#end = end;
        if (settings.endGroupOnExit) signalGroup(this.pid, 'SIGKILL', this.#leader());
        this.#maybeFinish();
      },
      () => {},
    );
    this.#timeout = settings.deadlines.schedule(settings.timeoutMs, () => this.end('timeout'));
  }

  /** Whether the client has sent its stdin eof. */
  get stdinEnded(): boolean {
    return this.#stdinEnded;
  }

  /** Whether stdin frames are expected for this request at all. */
  get hasStdin(): boolean {
    return this.#process.stdin !== undefined;
  }

  /**
   * Writes bytes to the process's stdin; `eof` closes it after them. Returns false
   * when the pipe is full: the caller stops reading the socket until `onStdinDrain`.
   */
  writeStdin(body: Buffer, eof: boolean): boolean {
    const stdin = this.#process.stdin;
    if (stdin === undefined) return true;
    let flowing = true;
    if (body.length > 0 && this.#stdinOpen && !stdin.destroyed) {
      flowing = this.#settings.stdinAck ? stdin.write(body, () => this.#taken(body.length)) : stdin.write(body);
    } else if (body.length > 0) {
      // Dropped (the process closed its stdin): acknowledged all the same, so that a
      // client waiting for room never waits for a process that will not read.
      this.#taken(body.length);
    }
    if (eof) {
      this.#stdinEnded = true;
      if (!stdin.destroyed) stdin.end();
    }
    return flowing;
  }

  /** Whether the client asked for `stdin-ack` frames (then it keeps to a window). */
  get acksStdin(): boolean {
    return this.#settings.stdinAck === true;
  }

  /** Stdin bytes given to the pipe and not yet taken by it. */
  get stdinBuffered(): number {
    return this.#process.stdin?.writableLength ?? 0;
  }

  // Bytes the pipe has taken (or that were dropped): `stdin-ack` once a quarter of the
  // window has gathered, or at once when the pipe has taken everything it was given,
  // so that a client never waits on bytes already gone.
  #taken(bytes: number): void {
    if (!this.#settings.stdinAck || this.#silent || this.#done) return;
    this.#unacked += bytes;
    if (this.#unacked < STDIN_ACK_EVERY && this.stdinBuffered > 0) return;
    this.#writer.send({ type: 'stdin-ack', id: this.id, bytes: this.#unacked });
    this.#unacked = 0;
  }

  /** Whether the policy's stdin limit has cut this command's input. */
  get stdinTruncated(): boolean {
    return this.#stdinKept !== undefined;
  }

  /**
   * The stdin limit is reached: `last` (what still fits) is written, then stdin is
   * closed; `exit` will say that `kept` bytes were kept.
   */
  truncateStdin(last: Buffer, kept: number): void {
    this.#stdinKept = kept;
    this.writeStdin(last, true);
  }

  /** Calls `resume` when the stdin pipe can take more (or is gone). */
  onStdinDrain(resume: () => void): void {
    const stdin = this.#process.stdin;
    if (stdin === undefined || stdin.destroyed || !stdin.writableNeedDrain) {
      resume();
      return;
    }
    const done = (): void => {
      stdin.off('drain', done);
      stdin.off('close', done);
      resume();
    };
    stdin.on('drain', done);
    stdin.on('close', done);
  }

  /** Resizes the command's terminal; false when it has none. */
  resize(cols: number, rows: number): boolean {
    if (this.#process.resize === undefined) return false;
    this.#process.resize(cols, rows);
    return true;
  }

  /** Sends a client's signal to the process group. */
  signal(name: SignalName): void {
    signalGroup(this.pid, name, this.#leader());
  }

  /**
   * Ends the process group: SIGTERM, then SIGKILL after the grace period; if pipes
   * are still held open after that (a process that left the group), they are closed.
   */
  end(reason: EndReason): void {
    if (this.#done) return;
    this.#endReason ??= reason;
    if (this.#sigkillTimer !== undefined) return;
    this.#kill('SIGTERM');
    // A stopped process (its own doing: ^Z, SIGSTOP) hears the SIGTERM only once woken.
    signalGroup(this.pid, 'SIGCONT', this.#leader());
    // The SIGKILL comes even when the leader exits on the SIGTERM and the command is
    // done by then: what the leader left in its group, detached from its pipes, must
    // not survive because the leader itself went quietly.
    this.#sigkillTimer = setTimeout(() => this.#killAfterGrace(), this.#settings.graceMs);
  }

  /** The connection is gone: end the group and send nothing more. */
  detach(): void {
    this.#silent = true;
    this.end('closed');
  }

  #killAfterGrace(): void {
    this.#kill('SIGKILL');
    if (!this.#done) this.#abandonTimer = setTimeout(() => this.#abandonPipes(), this.#settings.graceMs);
  }

  #kill(signal: NodeJS.Signals): void {
    this.#lastSignal = signal;
    signalGroup(this.pid, signal, this.#leader());
  }

  #pipe(stream: Readable, name: OutputStream): void {
    const header = outputHeader(name, this.id);
    this.#openPipes.add(stream);
    stream.on('data', (chunk: Buffer) => this.#output(stream, name, header, chunk));
    const closed = (): void => this.#pipeClosed(stream);
    stream.once('end', closed);
    stream.once('close', closed);
    stream.once('error', closed);
  }

  #output(stream: Readable, name: OutputStream, header: Buffer, chunk: Buffer): void {
    const cap = this.#settings.maxOutputBytes;
    let body = chunk;
    if (cap !== undefined && this.#bytes[name] + body.length > cap) {
      body = body.subarray(0, cap - this.#bytes[name]);
      if (this.#endReason === undefined) this.end('truncated');
    }
    if (body.length === 0 || this.#silent) return;
    this.#bytes[name] += body.length;
    this.#writer.sendOutput(header, body);
    if (this.#writer.congested && !this.#paused.has(stream)) {
      stream.pause();
      this.#paused.add(stream);
      this.#writer.whenDrained(this.#resume);
    }
  }

  #resumeOutput(): void {
    for (const stream of this.#paused) stream.resume();
    this.#paused.clear();
  }

  #pipeClosed(stream: Readable): void {
    if (!this.#openPipes.delete(stream)) return;
    this.#paused.delete(stream);
    this.#maybeFinish();
  }

  // Last resort after SIGKILL: a process that left the group still holds a pipe.
  #abandonPipes(): void {
    for (const stream of [...this.#openPipes]) {
      stream.destroy();
      this.#pipeClosed(stream);
    }
  }

  #maybeFinish(): void {
    if (this.#done || this.#end === undefined || this.#openPipes.size > 0) return;
    this.#done = true;
    this.#settings.deadlines.cancel(this.#timeout);
    // The SIGKILL timer of end(), if any, is left to run (see there).
    clearTimeout(this.#abandonTimer);
    this.#writer.cancelDrain(this.#resume);
    const result = this.#result(this.#end);
    if (!this.#silent) this.#writer.send({ type: 'exit', id: this.id, ...result });
    this.#onDone(result);
  }

  #result(end: ProcessEnd): CommandResult {
    const timedOut = this.#endReason === 'timeout';
    // Section 4: on a timeout, code is null and signal is the one that ended it.
    const signal = end.signal ?? (timedOut ? (this.#lastSignal ?? 'SIGTERM') : null);
    return {
      code: timedOut ? null : end.code,
      signal,
      timedOut,
      truncated: this.#endReason === 'truncated',
      stdoutBytes: this.#bytes.stdout,
      stderrBytes: this.#bytes.stderr,
      durationMs: Math.round(performance.now() - this.#startedAt),
      ...(this.#stdinKept === undefined ? {} : { stdinTruncated: true, stdinBytes: this.#stdinKept }),
    };
  }
}

// File transfers done by the file helper (file-helper.ts) under a policy's identity and
// confinement: started like a command (runAs, prlimit, bubblewrap), fed a put's bytes
// through its stdin, read a get's bytes from its stdout, and heard on its fd 3.
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { RexecError, isWireErrorCode } from '../../errors.js';
import { inSandboxView } from '../launch.js';
import type { Confinement } from '../launch.js';
import { endGroups, leaderOf, signalGroup } from '../process-group.js';
import type { LeaderOf } from '../process-group.js';
import type { RlimitSettings } from '../policy/schema.js';
import type { ConfinementResult } from '../confinement.js';
import { spawnProcess } from '../spawn.js';
import type { SpawnedProcess } from '../spawn.js';
import { helperMessage } from './helper-protocol.js';
import type { HelperJob, HelperMessage } from './helper-protocol.js';
import type { OpenedGet, OpenedPut, PutJob } from './local-files.js';
import type { FileScope } from './target.js';

/** How to start the helper for one user's policy. */
export interface HelperLaunch {
  /** The helper program (dist/bundle/file-helper.mjs). */
  readonly helperPath: string;
  /** The node binary that runs it. */
  readonly nodePath: string;
  /** Where it starts (the root). */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly sandboxRoot: string | undefined;
  /** Size of each tmpfs in the sandbox. */
  readonly tmpBytes?: number;
  readonly rlimits: RlimitSettings;
  /** How long an aborted helper may take to clean up before it is killed. */
  readonly graceMs: number;
  /** The user's cgroup and OOM score, as a command gets them. */
  readonly confine?: (id: number) => ConfinementResult;
  /**
   * Gives the opening up: the helper's group is ended (SIGTERM, SIGKILL after the grace
   * period: a stopped helper hears only the second) and the open rejects.
   */
  readonly signal?: AbortSignal;
}

// Diagnostics kept from the helper's stderr for an error message.
const MAX_STDERR = 4096;
// Longest control line taken from a helper (a `file` message is a few hundred bytes).
const MAX_CONTROL_LINE = 64 * 1024;
// A helper says two lines in its life: `ready` or `file`, then `done` or `error`.
const MAX_CONTROL_MESSAGES = 2;

/** Starts a helper for a put; resolves once it has checked the target and is ready for bytes. */
export async function openHelperPut(launch: HelperLaunch, scope: FileScope, job: PutJob): Promise<OpenedPut> {
  const helper = await Helper.start(launch, { op: 'put', scope, job }, job.id);
  const first = await helper.next();
  if (!('ready' in first)) throw helper.failure(first);
  const sink = helper.process.stdin;
  if (sink === undefined) throw new RexecError('SPAWN_FAILED', 'the file helper has no stdin', { id: job.id });
  let settled = false;
  // The helper's next word: `done` after commit, or an error at any time. Anything else
  // before the commit (a `done` too) is out of turn: written by another process of the
  // account, not by the helper, and the put fails at once instead of waiting for its bytes.
  const outcome = helper.next();
  outcome.catch(() => undefined);
  const failed = outcome.then(
    (message) => (settled ? new Promise<never>(() => undefined) : helper.failure(message)),
    (error: unknown) => error as RexecError,
  );
  return {
    path: first.ready.path,
    sink,
    failed,
    async commit() {
      settled = true;
      sink.end();
      const last = await outcome;
      if (!('done' in last)) throw helper.failure(last);
    },
    abort() {
      if (settled) return;
      settled = true;
      // End of input before `size` bytes: the helper removes its temporary file and exits.
      sink.destroy();
      helper.stop();
    },
  };
}

/** Starts a helper for a get; resolves once it has opened the file. */
export async function openHelperGet(
  launch: HelperLaunch,
  scope: FileScope,
  id: number,
  path: string,
): Promise<OpenedGet> {
  const helper = await Helper.start(launch, { op: 'get', scope, id, path }, id);
  const first = await helper.next();
  if (!('file' in first)) throw helper.failure(first);
  const content = helper.process.stdout;
  const finished = helper.next().then((last) => {
    if (!('done' in last)) throw helper.failure(last);
  });
  finished.catch(() => undefined);
  return {
    ...first.file,
    content,
    finished,
    close() {
      content.destroy();
      helper.stop();
    },
  };
}

/** Paths the sandbox must show read-only for the helper to run: itself, and node if hidden. */
export function helperReadOnlyPaths(launch: Pick<HelperLaunch, 'helperPath' | 'nodePath'>): string[] {
  return [launch.helperPath, dirname(launch.nodePath)].filter((path) => !inSandboxView(path));
}

/** One running helper: its control messages in order, its stderr, and its end. */
class Helper {
  readonly process: SpawnedProcess;
  readonly #id: number;
  readonly #graceMs: number;
  readonly #leader: LeaderOf;
  readonly #control: Readable;
  readonly #messages: HelperMessage[] = [];
  #heard = 0;
  #waiter: (() => void) | undefined;
  #partial = '';
  #stderr = '';
  #controlEnded = false;
  #exited = false;
  #stopping = false;
  #broken: string | undefined;

  private constructor(spawned: SpawnedProcess, id: number, graceMs: number, leader: LeaderOf) {
    this.process = spawned;
    this.#id = id;
    this.#graceMs = graceMs;
    this.#leader = leader;
    const control = spawned.control as Readable;
    this.#control = control;
    control.setEncoding('utf8');
    control.on('data', (text: string) => this.#receive(text));
    control.once('close', () => {
      this.#controlEnded = true;
      this.#wake();
    });
    control.on('error', () => undefined);
    spawned.stderr?.setEncoding('utf8');
    spawned.stderr?.on('data', (text: string) => {
      this.#stderr += text.slice(0, MAX_STDERR - this.#stderr.length);
      // Enough to say what went wrong; the rest is not read (it may not be the helper's, see #receive).
      if (this.#stderr.length >= MAX_STDERR) spawned.stderr?.destroy();
    });
    spawned.stderr?.on('error', () => undefined);
    spawned.stdin?.on('error', () => undefined);
    spawned.stdout.on('error', () => undefined);
    void spawned.exited.then(() => {
      this.#exited = true;
      this.#wake();
    });
  }

  static async start(launch: HelperLaunch, job: HelperJob, id: number): Promise<Helper> {
    const lease = await launch.confine?.(id);
    let spawned: ReturnType<typeof spawnProcess>;
    try {
      spawned = Helper.#spawn(launch, job, id, lease?.confinement);
    } catch (error) {
      lease?.release();
      throw error;
    }
    let helper: SpawnedProcess;
    try {
      helper = await spawned;
    } catch (error) {
      lease?.release();
      const reason = error instanceof RexecError ? error.message : String(error);
      throw new RexecError('SPAWN_FAILED', `cannot start the file helper: ${reason}`, { id, cause: error });
    }
    void helper.exited.then(() => lease?.release());
    const leader = leaderOf(helper);
    const { signal } = launch;
    if (signal !== undefined) {
      // Until it has opened the file: a helper that never answers (stopped by its own
      // account, stuck on a file system) must not hold the request, its slot, or a
      // stopping rexecd for ever. Once open, the transfer's own abort takes over.
      const end = (): void => endGroups([helper.pid], launch.graceMs, leader);
      if (signal.aborted) end();
      else signal.addEventListener('abort', end, { once: true });
      void helper.exited.then(() => signal.removeEventListener('abort', end));
    }
    return new Helper(helper, id, launch.graceMs, leader);
  }

  static #spawn(
    launch: HelperLaunch,
    job: HelperJob,
    id: number,
    confinement: Confinement | undefined,
  ): ReturnType<typeof spawnProcess> {
    return spawnProcess({
      id,
      file: launch.nodePath,
      // One V8 worker and two I/O threads: the helper moves bytes, and RLIMIT_NPROC
      // counts threads.
      args: ['--no-warnings', '--v8-pool-size=1', launch.helperPath, JSON.stringify(job)],
      cwd: launch.cwd,
      env: { ...launch.env, UV_THREADPOOL_SIZE: '2' },
      stdin: job.op === 'put',
      merge: false,
      rlimits: launch.rlimits,
      ...(launch.sandboxRoot === undefined
        ? {}
        : { sandboxRoot: launch.sandboxRoot, sandboxReadOnly: helperReadOnlyPaths(launch) }),
      ...(launch.sandboxRoot === undefined || launch.tmpBytes === undefined
        ? {}
        : { sandboxTmpBytes: launch.tmpBytes }),
      ...(launch.uid === undefined ? {} : { uid: launch.uid }),
      ...(launch.gid === undefined ? {} : { gid: launch.gid }),
      ...(confinement === undefined ? {} : { confinement }),
      control: true,
    });
  }

  /** The next control message; rejects when the helper ends without one. */
  async next(): Promise<HelperMessage> {
    for (;;) {
      const message = this.#messages.shift();
      if (message !== undefined) return message;
      if (this.#broken !== undefined) throw this.#error(this.#broken);
      if (this.#controlEnded && this.#exited) {
        const end = await this.process.exited;
        const how = end.signal === null ? `status ${end.code}` : end.signal;
        throw this.#error(`the file helper ended (${how})${this.#stderr === '' ? '' : `: ${this.#stderr.trim()}`}`);
      }
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** The RexecError a message other than the expected one stands for. */
  failure(message: HelperMessage): RexecError {
    if ('error' in message) {
      const code = isWireErrorCode(message.error.code) ? message.error.code : 'SPAWN_FAILED';
      return new RexecError(code, message.error.message, { id: this.#id });
    }
    this.stop();
    return this.#error(`the file helper said ${JSON.stringify(message)} out of turn`);
  }

  /**
   * Ends the helper, SIGKILL after the grace period. A get's gets SIGTERM (and SIGCONT: its
   * own account may have stopped it) now. A put's hears its stdin closed and removes its
   * temporary file (a SIGTERM would end a sandbox's bubblewrap, and the helper inside with
   * no time to clean up): it gets only the SIGCONT now. The timers are not unref'd: a
   * stopping rexecd waits for them rather than leave a helper behind.
   */
  stop(): void {
    if (this.#exited || this.#stopping) return;
    this.#stopping = true;
    const { pid } = this.process;
    if (this.process.stdin === undefined) {
      endGroups([pid], this.#graceMs, this.#leader);
      return;
    }
    signalGroup(pid, 'SIGCONT', this.#leader(pid));
    const timer = setTimeout(() => {
      if (!this.#exited) endGroups([pid], 0, this.#leader);
    }, this.#graceMs);
    void this.process.exited.then(() => clearTimeout(timer));
  }

  // The helper runs as the lab account: another process of that account can take a copy
  // of its end of the channel (pidfd_getfd) and write anything, at any rate. Only the
  // helper's messages, whole and well typed (helperMessage), count, no more of them than a
  // helper says, and the first line that breaks a rule ends the helper and the reading:
  // what the channel holds then is not the helper's to say, and is never kept.
  #receive(text: string): void {
    this.#partial += text;
    let newline: number;
    while ((newline = this.#partial.indexOf('\n')) >= 0) {
      const line = this.#partial.slice(0, newline);
      this.#partial = this.#partial.slice(newline + 1);
      if (++this.#heard > MAX_CONTROL_MESSAGES) {
        this.#break(`the file helper said more than ${MAX_CONTROL_MESSAGES} lines`);
        return;
      }
      let message: HelperMessage | undefined;
      try {
        message = helperMessage(JSON.parse(line));
      } catch {
        // Not JSON: not a message either.
      }
      if (message === undefined) {
        this.#break(
          `the file helper sent a line that is not one of its messages: ${JSON.stringify(line.slice(0, 200))}`,
        );
        return;
      }
      this.#messages.push(message);
    }
    if (this.#partial.length > MAX_CONTROL_LINE) {
      this.#break('the file helper sent a control line that is too long');
      return;
    }
    this.#wake();
  }

  #break(reason: string): void {
    this.#broken ??= reason;
    this.#partial = '';
    this.#control.destroy();
    this.stop();
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  #error(message: string): RexecError {
    return new RexecError('SPAWN_FAILED', message, { id: this.#id });
  }
}

// Starting a command on a pseudo-terminal (rexec's `exec.pty`). The terminal is opened
// by a helper process of its own (pty-helper.ts), never by rexecd: node-pty opens the
// master side without close-on-exec, so a master held by rexecd would be inherited by
// every process rexecd starts afterwards, and anyone's command could type into anyone
// else's terminal. The command gets its own session with the terminal as its
// controlling tty, so it leads its own process group like every other command, and its
// pid (not the helper's) is what `started` reports and what signals reach.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { RexecError } from '../../errors.js';
import { MAX_BODY_LENGTH } from '../../protocol/constants.js';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../../protocol/frame-encoder.js';
import type { Frame } from '../../protocol/frame.js';
import type { PtySize } from '../../protocol/messages.js';
import { bundledProgram } from '../bundled-program.js';
import { ownOomScoreAdj } from '../oom-score.js';
import { signalGroup } from '../process-group.js';
import { startTimeOf } from '../proc-stat.js';
import { preambleArgv } from '../launch.js';
import type { Confinement, LaunchPlan } from '../launch.js';
import type { ProcessEnd, SpawnedProcess } from '../spawn.js';
import { fromHelper } from './helper-protocol.js';
import type { ToHelper } from './helper-protocol.js';

/** What a terminal launch needs beyond the plan. */
export interface PtySpawnSettings {
  readonly id: number;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly pty: PtySize;
  readonly uid?: number;
  readonly gid?: number;
  /** The user's cgroups and OOM score: the helper joins them too (rexecd is root). */
  readonly confinement?: Confinement;
}

// One V8 worker thread instead of one per core: in the user's cgroup, every thread of
// the helper counts against the user's pids.max.
const HELPER_FLAGS = ['--v8-pool-size=1'];

// The helper's diagnostics kept for an error message.
const MAX_STDERR = 4096;

/**
 * Starts `plan` on a new pseudo-terminal. Resolves once the command runs; rejects with
 * SPAWN_FAILED when it cannot be started.
 */
export function spawnOnPty(plan: LaunchPlan, settings: PtySpawnSettings): Promise<SpawnedProcess> {
  const { id, pty: size } = settings;
  let helper: ChildProcess;
  try {
    // Its own process group (detached), so that signals for the command's group never
    // reach it; nothing of rexecd's environment (the command's comes in the job), and one
    // libuv worker thread instead of four.
    // Under cgroup limits it starts through the root preamble, as its command does:
    // the terminal is the user's, so its memory and tasks count against the user. Its
    // OOM score stays rexecd's, not the command's raised one: the OOM killer of a full
    // group must take the process that grew, not the terminal of an honest build.
    const argv = [realpathSync(process.execPath), ...HELPER_FLAGS, helperPath(id)];
    const cgroupProcs = settings.confinement?.cgroupProcs ?? [];
    const [file, ...args] = (
      cgroupProcs.length === 0 ? argv : preambleArgv({ cgroupProcs, oomScoreAdj: ownOomScoreAdj() }, undefined, argv)
    ) as [string, ...string[]];
    helper = spawn(file, args, {
      detached: true,
      env: { UV_THREADPOOL_SIZE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (error) {
    return Promise.reject(failure(id, (error as Error).message));
  }
  return new Promise((resolve, reject) =>
    new HelperSession(helper, id, resolve, reject).spawn({
      type: 'spawn',
      file: plan.file,
      args: plan.args,
      cwd: settings.cwd,
      env: settings.env,
      cols: size.cols,
      rows: size.rows,
      term: size.term,
      ...(settings.uid === undefined ? {} : { uid: settings.uid }),
      ...(settings.gid === undefined ? {} : { gid: settings.gid }),
    }),
  );
}

/** rexecd's side of one helper: frames in, a SpawnedProcess out. */
class HelperSession {
  readonly #helper: ChildProcess;
  readonly #id: number;
  readonly #resolve: (spawned: SpawnedProcess) => void;
  readonly #reject: (error: RexecError) => void;
  readonly #stdout: Readable;
  #stderr = '';
  #started = false;
  #pid: number | undefined;
  #leaderStarted: number | undefined;
  #end: ProcessEnd | undefined;
  #settleExit!: (end: ProcessEnd) => void;
  readonly #exited = new Promise<ProcessEnd>((resolve) => {
    this.#settleExit = resolve;
  });

  constructor(
    helper: ChildProcess,
    id: number,
    resolve: (spawned: SpawnedProcess) => void,
    reject: (error: RexecError) => void,
  ) {
    this.#helper = helper;
    this.#id = id;
    this.#resolve = resolve;
    this.#reject = reject;
    const output = helper.stdout as Readable;
    // The terminal's output as a stream with backpressure: a full stream stops reading
    // the helper, whose full pipe pauses the terminal, which blocks the command.
    this.#stdout = new Readable({
      read: () => output.resume(),
      destroy: (error, callback) => {
        this.#kill();
        callback(error);
      },
    });
    const decoder = new FrameDecoder((frame) => this.#receive(frame, output));
    output.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        this.#broken(`the terminal helper sent a bad frame: ${(error as Error).message}`);
      }
    });
    helper.stderr?.setEncoding('utf8');
    helper.stderr?.on('data', (text: string) => {
      if (this.#stderr.length < MAX_STDERR) this.#stderr += text.slice(0, MAX_STDERR - this.#stderr.length);
    });
    helper.stdin?.on('error', () => {});
    helper.once('error', (error) => this.#broken(error.message));
    // The helper ends once it has reported the exit; ending otherwise is a failure of its own.
    helper.once('close', () => this.#broken(this.#stderr.trim() || 'the terminal helper ended'));
  }

  spawn(job: ToHelper): void {
    this.#send(job);
  }

  #receive(frame: Frame, output: Readable): void {
    const message = fromHelper(frame.header);
    if (message === undefined) {
      this.#broken(`the terminal helper sent ${JSON.stringify(frame.header.type)}`);
      return;
    }
    switch (message.type) {
      case 'started':
        if (this.#started) return;
        this.#started = true;
        this.#pid = message.pid;
        this.#leaderStarted = startTimeOf(message.pid);
        this.#resolve(this.#process(message.pid));
        return;
      case 'failed':
        this.#reject(failure(this.#id, message.message));
        return;
      case 'output':
        if (!this.#stdout.push(frame.body)) output.pause();
        return;
      case 'exit':
        this.#finish({ code: message.code, signal: message.signal as NodeJS.Signals | null });
        return;
    }
  }

  #process(pid: number): SpawnedProcess {
    const stdin = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        let flowing = true;
        for (let at = 0; at < chunk.length; at += MAX_BODY_LENGTH) {
          flowing = this.#send({ type: 'input' }, chunk.subarray(at, at + MAX_BODY_LENGTH));
        }
        if (flowing || this.#end !== undefined) callback();
        else this.#helper.stdin?.once('drain', () => callback());
      },
      final: (callback) => {
        this.#send({ type: 'input', eof: true });
        callback();
      },
    });
    return {
      pid,
      ...(this.#leaderStarted === undefined ? {} : { started: this.#leaderStarted }),
      stdout: this.#stdout,
      stderr: undefined,
      stdin,
      exited: this.#exited,
      resize: (cols, rows) => {
        // After the exit a late resize is ignored.
        if (this.#end === undefined) this.#send({ type: 'resize', cols, rows });
      },
    };
  }

  #send(message: ToHelper, body?: Buffer): boolean {
    const input = this.#helper.stdin;
    if (input === null || input.destroyed || input.writableEnded) return true;
    return input.write(encodeFrameBuffer(message, body));
  }

  #finish(end: ProcessEnd): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#stdout.push(null);
    this.#settleExit(end);
    // The helper exits on its own once it has said this; closing its input makes sure.
    this.#helper.stdin?.end();
  }

  // The helper failed before or instead of reporting an exit: the command, if it ran,
  // is killed and reported so, and the helper (which ends its command's session when its
  // input closes) is ended. A helper killed outright (the OOM killer of the user's
  // group) ends nothing itself: the command's group is killed here, or it would run on
  // with nobody to report it.
  #broken(reason: string): void {
    if (!this.#started) {
      this.#reject(failure(this.#id, reason));
      this.#kill();
      return;
    }
    if (this.#end === undefined && this.#pid !== undefined) signalGroup(this.#pid, 'SIGKILL', this.#leaderStarted);
    this.#finish({ code: null, signal: 'SIGKILL' });
    this.#kill();
  }

  #kill(): void {
    this.#helper.stdin?.destroy();
    if (this.#helper.exitCode === null && this.#helper.signalCode === null) this.#helper.kill('SIGKILL');
  }
}

function failure(id: number, reason: string): RexecError {
  return new RexecError('SPAWN_FAILED', `cannot start the command on a terminal: ${reason}`, { id });
}

function helperPath(id: number): string {
  const path = bundledProgram('pty-helper.mjs');
  if (path === undefined)
    throw failure(id, 'the terminal helper (dist/bundle/pty-helper.mjs) is missing: run "npm run build"');
  return path;
}

// Starting a command on a pseudo-terminal (rexec's `exec.pty`), with node-pty: the
// process gets its own session with the terminal as its controlling tty, so it leads
// its own process group like every other command. Its output is one stream (stdout),
// its input the terminal's keyboard side.
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { constants } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { RexecError } from '../errors.js';
import type { PtySize } from '../protocol/messages.js';
import { nodePty } from '../common/lazy-modules.js';
import type { LaunchPlan } from './launch.js';
import type { ProcessEnd, SpawnedProcess } from './spawn.js';

/** What a terminal launch needs beyond the plan. */
export interface PtySpawnSettings {
  readonly id: number;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly pty: PtySize;
  readonly uid?: number;
  readonly gid?: number;
}

// How often a paused terminal checks that its process still runs (see below).
const EXIT_WATCH_MS = 20;

// End of input on a terminal in canonical mode (^D), sent for the client's stdin eof.
const EOF_CHARACTER = Buffer.from([4]);

/** Starts `plan` on a new pseudo-terminal; throws SPAWN_FAILED when it cannot. */
export function spawnOnPty(plan: LaunchPlan, settings: PtySpawnSettings): SpawnedProcess {
  const { pty: size } = settings;
  let terminal;
  try {
    terminal = nodePty().spawn(plan.file, [...plan.args], {
      name: size.term,
      cols: size.cols,
      rows: size.rows,
      cwd: settings.cwd,
      env: { ...settings.env, TERM: size.term },
      encoding: null,
      ...(settings.uid === undefined ? {} : { uid: settings.uid }),
      ...(settings.gid === undefined ? {} : { gid: settings.gid }),
    });
  } catch (error) {
    throw new RexecError('SPAWN_FAILED', `cannot start ${plan.file} on a terminal: ${(error as Error).message}`, {
      id: settings.id,
    });
  }
  const pty = terminal;
  // Hold the terminal's other side open ourselves until node-pty reports the exit:
  // when the last holder closes it, Linux may fail the master's read (EIO) while output
  // is still buffered, and node-pty then drops it (measured: 10 of 30 runs of
  // `seq 1 300000` lost their last kilobytes; none with this).
  const ptsName = (pty as unknown as { ptsName?: string }).ptsName;
  let holder: number | undefined;
  try {
    // O_NOCTTY: the terminal must never become rexecd's own controlling terminal.
    holder = ptsName === undefined ? undefined : openSync(ptsName, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
  } catch {
    holder = undefined;
  }
  // The terminal's output, with backpressure: a full stream pauses the terminal. But
  // node-pty destroys its socket 200 ms after the process exits if the socket has not
  // closed by then, dropping what the kernel still holds: so while paused, check that
  // the process is still there, and once it is gone read the rest (bounded by the
  // terminal's kernel buffer) whatever the stream says.
  let paused = false;
  let exitedEarly = false;
  let ended = false;
  let watch: NodeJS.Timeout | undefined;
  const resume = (): void => {
    paused = false;
    clearInterval(watch);
    watch = undefined;
    pty.resume();
  };
  const stdout = new Readable({
    read() {
      if (paused) resume();
    },
  });
  pty.onData((data: string | Buffer) => {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!stdout.push(chunk) && !paused && !exitedEarly) {
      paused = true;
      pty.pause();
      watch = setInterval(() => {
        if (!processExists(pty.pid)) {
          exitedEarly = true;
          resume();
        }
      }, EXIT_WATCH_MS);
    }
  });
  // node-pty queues what the terminal cannot take yet without saying so: the write
  // callback waits until that queue is short, so that a client sending faster than the
  // program reads is slowed by TCP (section 5) instead of growing rexecd's memory.
  const stdin = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      // node-pty's types say string; it writes Buffers to the terminal as they are.
      pty.write(chunk as unknown as string);
      const waitForRoom = (): void => {
        if (ended || queuedInput(pty) <= MAX_QUEUED_INPUT) callback();
        else setTimeout(waitForRoom, INPUT_POLL_MS);
      };
      waitForRoom();
    },
    final(callback) {
      pty.write(EOF_CHARACTER as unknown as string);
      callback();
    },
  });
  const exited = new Promise<ProcessEnd>((resolve) => {
    pty.onExit(({ exitCode, signal }) => {
      ended = true;
      // node-pty reports the exit once the terminal's output has been read out.
      clearInterval(watch);
      if (holder !== undefined) closeSync(holder);
      stdout.push(null);
      const name = signal ? signalName(signal) : null;
      resolve({ code: name === null ? exitCode : null, signal: name });
    });
  });
  return {
    pid: pty.pid,
    stdout,
    stderr: undefined,
    stdin,
    exited,
    // After the exit node-pty closes the terminal (and its fd number may be reused):
    // a late resize is ignored, never an ioctl on whatever that fd is now.
    resize: (cols, rows) => {
      if (ended) return;
      try {
        pty.resize(cols, rows);
      } catch {
        // The terminal went away between the exit and this call.
      }
    },
  };
}

// Input queued inside node-pty before the write callback waits, and how often it looks.
const MAX_QUEUED_INPUT = 64 * 1024;
const INPUT_POLL_MS = 10;

// Bytes node-pty holds for the terminal: @lydell/node-pty writes through the master's
// socket, whose unwritten bytes are its writableLength (a private field; when it is
// not there, nothing is known and nothing waits).
function queuedInput(pty: object): number {
  const socket = (pty as { _socket?: { writableLength?: unknown } })._socket;
  return typeof socket?.writableLength === 'number' ? socket.writableLength : 0;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalName(signal: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, number]) => number === signal);
  return entry === undefined ? null : (entry[0] as NodeJS.Signals);
}

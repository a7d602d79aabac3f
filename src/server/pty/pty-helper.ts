// The terminal helper: a small program rexecd starts for each command that runs on a
// pseudo-terminal. It holds that one terminal's master side, so rexecd itself never
// holds one: node-pty opens masters without close-on-exec, and every process rexecd
// started afterwards (any user's, sandboxed or not) inherited every open terminal of
// every other session. Here the only process that could inherit this master is the
// command itself, which forkpty gives the terminal's other side instead.
//
// It speaks rexec frames on stdin/stdout (helper-protocol.ts) and ends the command's
// session when rexecd goes away (end of stdin), so it cannot outlive rexecd either.
import { closeSync, constants as fsConstants, openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { nodePty } from '../../common/lazy-modules.js';
import { encodeFrame } from '../../protocol/frame-encoder.js';
import { closeInheritedDescriptors } from '../descriptors.js';
import { FrameDecoder } from '../../protocol/frame-decoder.js';
import type { Frame } from '../../protocol/frame.js';
import type { FromHelper, PtyJob } from './helper-protocol.js';

type Terminal = ReturnType<ReturnType<typeof nodePty>['spawn']>;

// End of input on a terminal in canonical mode (^D), for the client's stdin eof.
const EOF_CHARACTER = Buffer.from([4]);
// Input node-pty may hold for the terminal before the helper stops reading rexecd.
const MAX_QUEUED_INPUT = 64 * 1024;
const INPUT_POLL_MS = 10;
// How often a paused terminal checks that its command still runs (see relayOutput).
const EXIT_WATCH_MS = 20;
// How long the child may take to make its session before `started` goes out anyway.
const SESSION_WAIT_MS = 10_000;

let terminal: Terminal | undefined;
let ended = false;

// The command whose `started` has not gone out yet (see start()).
let unannounced: number | undefined;

function send(message: FromHelper, body?: Buffer): boolean {
  // `started` comes first whatever happens: output or an exit means the command ran.
  if (message.type === 'output' || message.type === 'exit') announce();
  const [head, rest] = encodeFrame(message, body);
  process.stdout.write(head);
  return process.stdout.write(rest);
}

function start(job: PtyJob): void {
  // node-pty switches to the runAs account with setgid/setuid but not setgroups: drop
  // root's supplementary groups here, in this process only.
  if (job.uid !== undefined && process.getuid?.() === 0) process.setgroups?.([]);
  let pty: Terminal;
  try {
    pty = nodePty().spawn(job.file, [...job.args], {
      name: job.term,
      cols: job.cols,
      rows: job.rows,
      cwd: job.cwd,
      env: { ...job.env, TERM: job.term },
      encoding: null,
      ...(job.uid === undefined ? {} : { uid: job.uid }),
      ...(job.gid === undefined ? {} : { gid: job.gid }),
    });
  } catch (error) {
    send({ type: 'failed', message: (error as Error).message });
    process.stdout.end(() => process.exit(0));
    return;
  }
  terminal = pty;
  // `started` tells rexecd that the group exists: signals go to it from then on. node-pty
  // returns as soon as it has forked, and the child makes its session (setsid) only when
  // it runs: a signal sent before that found no group and was lost (the command ran on).
  unannounced = pty.pid;
  relayOutput(pty);
  whenSessionLeader(pty.pid, Date.now() + SESSION_WAIT_MS, announce);
}

function announce(): void {
  if (unannounced === undefined) return;
  const pid = unannounced;
  unannounced = undefined;
  send({ type: 'started', pid });
}

/** Calls `then` once `pid` leads its own process group, has gone, or `until` has passed. */
function whenSessionLeader(pid: number, until: number, then: () => void): void {
  if (leadsGroup(pid) || Date.now() > until) {
    then();
    return;
  }
  setTimeout(() => whenSessionLeader(pid, until, then), 1);
}

// True when /proc says the process leads its group (field 5, pgrp, is its pid), or it is
// gone or a zombie (its exit follows).
function leadsGroup(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || Number(fields[2]) === pid;
}

// The terminal's output, with backpressure: a full stdout pauses the terminal. Two
// traps of node-pty are handled here. When the last holder of the terminal's other side
// closes it, Linux may fail the master's read (EIO) while output is still buffered, and
// node-pty drops it: so that side is held open until the exit is reported. And node-pty
// destroys its socket 200 ms after the exit if it has not closed by then: so while
// paused, check that the command still runs, and once it is gone read the rest (bounded
// by the terminal's kernel buffer) whatever stdout says.
function relayOutput(pty: Terminal): void {
  const ptsName = (pty as unknown as { ptsName?: string }).ptsName;
  let holder: number | undefined;
  try {
    // O_NOCTTY: the terminal must never become this process's controlling terminal.
    holder = ptsName === undefined ? undefined : openSync(ptsName, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
  } catch {
    holder = undefined;
  }
  let paused = false;
  let exitedEarly = false;
  let watch: NodeJS.Timeout | undefined;
  const resume = (): void => {
    paused = false;
    clearInterval(watch);
    watch = undefined;
    pty.resume();
  };
  process.stdout.on('drain', () => {
    if (paused) resume();
  });
  pty.onData((data: string | Buffer) => {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!send({ type: 'output' }, chunk) && !paused && !exitedEarly) {
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
  pty.onExit(({ exitCode, signal }) => {
    // node-pty reports the exit once the terminal's output has been read out.
    ended = true;
    clearInterval(watch);
    if (holder !== undefined) closeSync(holder);
    const name = signal ? signalName(signal) : null;
    send({ type: 'exit', code: name === null ? exitCode : null, signal: name });
    process.stdout.end(() => process.exit(0));
  });
}

// Keyboard input, slowed to what the terminal takes: node-pty queues what the terminal
// cannot take yet without saying so, so reading from rexecd pauses while that queue is
// long, and rexecd's pipe, then the client's TCP, slow down in turn.
function input(body: Buffer, eof: boolean): void {
  const pty = terminal;
  if (pty === undefined || ended) return;
  // node-pty's types say string; it writes Buffers to the terminal as they are.
  if (body.length > 0) pty.write(body as unknown as string);
  if (eof) pty.write(EOF_CHARACTER as unknown as string);
  if (queuedInput(pty) > MAX_QUEUED_INPUT) {
    process.stdin.pause();
    const wait = (): void => {
      if (ended || queuedInput(pty) <= MAX_QUEUED_INPUT) process.stdin.resume();
      else setTimeout(wait, INPUT_POLL_MS);
    };
    setTimeout(wait, INPUT_POLL_MS);
  }
}

function handle(frame: Frame): void {
  const { header } = frame;
  if (header.type === 'spawn' && terminal === undefined) {
    start(header as unknown as PtyJob);
  } else if (header.type === 'input') {
    input(frame.body, header['eof'] === true);
  } else if (header.type === 'resize' && terminal !== undefined && !ended) {
    const cols = Number(header['cols']);
    const rows = Number(header['rows']);
    try {
      terminal.resize(cols, rows);
    } catch {
      // The terminal went away between the exit and this request.
    }
  }
}

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

function signalName(signal: number): string | null {
  const entry = Object.entries(constants.signals).find(([, number]) => number === signal);
  return entry === undefined ? null : entry[0];
}

// rexecd is gone (or gave up on this command): end the command's whole session.
function abandon(): void {
  if (terminal !== undefined && !ended) {
    try {
      process.kill(-terminal.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  process.exit(0);
}

// Only the command's terminal may reach the command: nothing this process inherited.
closeInheritedDescriptors();
const decoder = new FrameDecoder(handle);
process.stdin.on('data', (chunk: Buffer) => {
  try {
    decoder.push(chunk);
  } catch {
    abandon();
  }
});
process.stdin.on('end', abandon);
process.stdin.on('error', abandon);
process.stdout.on('error', abandon);
// rexecd signals the command's group, never this process's; a signal here is an end.
for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(name, abandon);

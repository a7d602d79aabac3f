// Awaiting the server's replies in server checks: a command's frames up to its end,
// an error frame with a given code, proof that a connection is still open, and a
// fatal error followed by the close (docs/protocol.md sections 4 and 8).
import type { FrameHeader } from '../protocol/frame.js';
import { fail, show, skip } from './check.js';
import type { Probe, ReceivedFrame } from './probe.js';

/** Everything the server sent for one request id. */
export interface CommandOutcome {
  readonly frames: readonly ReceivedFrame[];
  readonly types: readonly string[];
  readonly started: FrameHeader | undefined;
  readonly exit: FrameHeader | undefined;
  /** The error sent instead of started, if any. */
  readonly error: FrameHeader | undefined;
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly stdoutSize: number;
  readonly stderrSize: number;
}

/** Waits for request `id` to end: its `exit`, or an `error` before any `started`. */
export async function awaitEnd(probe: Probe, id: number, deadlineMs: number): Promise<CommandOutcome> {
  await probe.until(
    () => {
      const mine = probe.framesOf(id);
      const exit = mine.find((frame) => frame.header.type === 'exit');
      if (exit !== undefined) return exit;
      if (mine.some((frame) => frame.header.type === 'started')) return undefined;
      return mine.find((frame) => frame.header.type === 'error');
    },
    `exit (or error) for id ${id}`,
    deadlineMs,
  );
  return outcomeOf(probe.framesOf(id));
}

/** Sends an exec and waits for its end. */
export async function runCommand(
  probe: Probe,
  id: number,
  exec: Readonly<Record<string, unknown>>,
  deadlineMs: number,
): Promise<CommandOutcome> {
  probe.send({ type: 'exec', id, ...exec });
  return awaitEnd(probe, id, deadlineMs);
}

/** Fails unless the command started and exited (no error instead). */
export function expectExited(outcome: CommandOutcome, what: string): FrameHeader {
  if (outcome.error !== undefined) fail(`${what}: the server answered ${show(outcome.error)} instead of running it`);
  if (outcome.exit === undefined) fail(`${what}: no exit`);
  return outcome.exit;
}

/** Like expectExited, but skips the check when the server's output cap ended the command. */
export function expectUncapped(outcome: CommandOutcome, what: string): FrameHeader {
  const exit = expectExited(outcome, what);
  if (exit['truncated'] === true) {
    skip(
      `the server's output cap ended ${what} (exit.truncated is true): this check needs more output than the cap allows`,
    );
  }
  return exit;
}

/**
 * Waits for the next `error` frame (for `id` when given) and checks its code; `id`
 * null means the error must carry no id.
 */
export async function expectError(
  probe: Probe,
  code: string,
  deadlineMs: number,
  id?: number | null,
): Promise<FrameHeader> {
  const frame = await probe.next(typeof id === 'number' ? { type: 'error', id } : { type: 'error' }, deadlineMs);
  const { header } = frame;
  if (header['code'] !== code) fail(`expected error ${code}, got ${show(header)}`);
  if (id === null && header['id'] !== undefined && header['id'] !== null) {
    fail(`the ${code} error carries an id, but the request had no valid one: ${show(header)}`);
  }
  return header;
}

/** Fails unless the connection still answers a ping (after a non-fatal error, say). */
export async function expectStillOpen(probe: Probe, deadlineMs: number, after: string): Promise<void> {
  const ts = `still-open-${Math.random().toString(36).slice(2)}`;
  probe.send({ type: 'ping', ts });
  try {
    await probe.until(
      () => probe.frames.find((frame) => frame.header.type === 'pong' && frame.header['ts'] === ts),
      'pong',
      deadlineMs,
    );
  } catch (error) {
    fail(
      `the connection no longer answers a ping ${after} (a non-fatal error must leave it open): ${(error as Error).message}`,
    );
  }
}

/** Waits for an `error` with `code`, then for the server to close the connection. */
export async function expectFatal(probe: Probe, code: string, deadlineMs: number, why = ''): Promise<void> {
  let frame: ReceivedFrame;
  try {
    frame = await probe.next({ type: 'error' }, deadlineMs);
  } catch (error) {
    fail(`expected error ${code}${why}: ${(error as Error).message}`);
  }
  if (frame.header['code'] !== code) fail(`expected error ${code}${why}, got ${show(frame.header)}`);
  try {
    await probe.waitClosed(deadlineMs);
  } catch {
    fail(`${code} is fatal, but the server did not close the connection within ${deadlineMs} ms`);
  }
}

function outcomeOf(frames: readonly ReceivedFrame[]): CommandOutcome {
  const of = (type: string): ReceivedFrame[] => frames.filter((frame) => frame.header.type === type);
  const started = of('started')[0]?.header;
  return {
    frames,
    types: frames.map((frame) => frame.header.type),
    started,
    exit: of('exit')[0]?.header,
    error: started === undefined ? of('error')[0]?.header : undefined,
    stdout: Buffer.concat(of('stdout').map((frame) => frame.body)),
    stderr: Buffer.concat(of('stderr').map((frame) => frame.body)),
    stdoutSize: of('stdout').reduce((sum, frame) => sum + frame.size, 0),
    stderrSize: of('stderr').reduce((sum, frame) => sum + frame.size, 0),
  };
}

// A bare protocol client for server tests, on the conformance kit's Probe (which sends
// exactly the bytes it is given, records every frame the server sends and waits with a
// deadline): this adds the login, a cursor that takes frames in order, and the frames of
// one request up to its exit, so that tests can assert exact sequences.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Probe } from '../../src/conformance/probe.js';
import type { ReceivedFrame } from '../../src/conformance/probe.js';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import type { FrameHeader } from '../../src/protocol/frame.js';

export const DEADLINE_MS = 20_000;

export class RawClient {
  readonly socket: Socket;
  readonly #probe: Probe;
  /** Frames before it were taken, or skipped over, by next(). */
  #cursor = 0;

  constructor(socket: Socket) {
    this.socket = socket;
    this.#probe = Probe.over(socket);
  }

  /** Connects from `localAddress` when given (any of 127/8 reaches the server on loopback). */
  static async open(port: number, localAddress?: string): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port, ...(localAddress === undefined ? {} : { localAddress }) });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** Connects, reads hello and authenticates with `key` (unless the server has no auth). */
  static async ready(port: number, key: string, user = 'default', localAddress?: string): Promise<RawClient> {
    const client = await RawClient.open(port, localAddress);
    const hello = await client.next('hello');
    if (hello.header['auth'] === 'none') return client;
    const snonce = Buffer.from(String(hello.header['nonce']), 'base64');
    const cnonce = newNonce();
    client.send({
      type: 'auth',
      user,
      cnonce: cnonce.toString('base64'),
      proof: computeProof(keyFromText(key), 'client', user, snonce, cnonce),
    });
    const reply = await client.next();
    if (reply.header.type !== 'auth-ok') throw new Error(`auth failed: ${JSON.stringify(reply.header)}`);
    return client;
  }

  /** Every frame received, in order. */
  get frames(): readonly ReceivedFrame[] {
    return this.#probe.frames;
  }

  get closed(): boolean {
    return this.#probe.closed;
  }

  /** Sends one frame; frames of a request are counted from its exec on, so an id can be reused. */
  send(header: object, body?: Buffer): void {
    this.#probe.send(header, body);
  }

  write(bytes: Buffer): void {
    this.#probe.write(bytes);
  }

  /**
   * The next frame not yet taken by next() (of `type` if given, and of request `id`
   * if given; other frames before it are skipped over and stay for collect()).
   */
  async next(type?: string, id?: number, deadlineMs = DEADLINE_MS): Promise<ReceivedFrame> {
    const frames = this.#probe.frames;
    return this.#probe.until(
      () => {
        while (this.#cursor < frames.length) {
          const frame = frames[this.#cursor++] as ReceivedFrame;
          if ((type === undefined || frame.header.type === type) && (id === undefined || frame.header['id'] === id))
            return frame;
        }
        return undefined;
      },
      `a "${type ?? 'any'}" frame${id === undefined ? '' : ` of request ${id}`}`,
      deadlineMs,
    );
  }

  /**
   * All frames of request `id` since its last exec, up to its `exit` (or its `error`
   * when no process was started).
   */
  async collect(id: number, deadlineMs = DEADLINE_MS): Promise<ReceivedFrame[]> {
    const final = (frames: readonly ReceivedFrame[]): ReceivedFrame | undefined =>
      frames.find((f) => f.header.type === 'exit') ??
      (frames.some((f) => f.header.type === 'started') ? undefined : frames.find((f) => f.header.type === 'error'));
    await this.#probe.until(() => final(this.#probe.framesOf(id)), `exit or error of request ${id}`, deadlineMs);
    return this.#probe.framesOf(id);
  }

  /** Runs one request and returns its frames. */
  async run(id: number, request: Record<string, unknown>): Promise<RunResult> {
    this.send({ type: 'exec', id, ...request });
    return summarize(await this.collect(id));
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(deadlineMs = DEADLINE_MS): Promise<void> {
    await this.#probe.waitClosed(deadlineMs);
  }

  close(): void {
    this.#probe.destroy();
  }
}

export interface RunResult {
  readonly types: string[];
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exit: FrameHeader | undefined;
  readonly error: FrameHeader | undefined;
  readonly started: FrameHeader | undefined;
}

export function summarize(frames: readonly ReceivedFrame[]): RunResult {
  const pick = (type: string): Buffer => Buffer.concat(frames.filter((f) => f.header.type === type).map((f) => f.body));
  return {
    types: frames.map((f) => f.header.type),
    stdout: pick('stdout'),
    stderr: pick('stderr'),
    exit: frames.find((f) => f.header.type === 'exit')?.header,
    error: frames.find((f) => f.header.type === 'error')?.header,
    started: frames.find((f) => f.header.type === 'started')?.header,
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails at the deadline. */
export async function waitUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  deadlineMs = DEADLINE_MS,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** True while a process with this pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

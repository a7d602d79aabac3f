// A bare protocol client for server tests: it sends exactly the bytes a test gives and
// records every frame the server sends, so tests can assert exact sequences.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import type { Frame, FrameHeader } from '../../src/protocol/frame.js';

export const DEADLINE_MS = 20_000;

export class RawClient {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  #cursor = 0;
  readonly #marks = new Map<number, number>();
  #closed = false;
  #decodeError: Error | undefined;
  #waiters = new Set<() => void>();

  constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder((frame) => {
      this.frames.push(frame);
      this.#wake();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk);
      } catch (error) {
        this.#decodeError = error as Error;
        this.#wake();
      }
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
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

  get closed(): boolean {
    return this.#closed;
  }

  send(header: object, body?: Buffer): void {
    // Frames of a request are counted from its exec on, so an id can be reused.
    const h = header as { type?: unknown; id?: unknown };
    if (h.type === 'exec' && typeof h.id === 'number') this.#marks.set(h.id, this.frames.length);
    this.socket.write(encodeFrameBuffer(header, body));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /**
   * The next frame not yet taken by next() (of `type` if given, and of request `id`
   * if given; other frames before it are skipped over and stay for collect()).
   */
  async next(type?: string, id?: number, deadlineMs = DEADLINE_MS): Promise<Frame> {
    return this.#waitFor(() => {
      while (this.#cursor < this.frames.length) {
        const frame = this.frames[this.#cursor++] as Frame;
        if ((type === undefined || frame.header.type === type) && (id === undefined || frame.header['id'] === id)) {
          return frame;
        }
      }
      return undefined;
    }, `a "${type ?? 'any'}" frame${id === undefined ? '' : ` of request ${id}`}`, deadlineMs);
  }

  /**
   * All frames of request `id` since its last exec, up to its `exit` (or its `error`
   * when no process was started).
   */
  async collect(id: number, deadlineMs = DEADLINE_MS): Promise<Frame[]> {
    const mine = (): Frame[] => this.frames.slice(this.#marks.get(id) ?? 0).filter((f) => f.header['id'] === id);
    const final = (frames: Frame[]): Frame | undefined =>
      frames.find((f) => f.header.type === 'exit') ??
      (frames.some((f) => f.header.type === 'started') ? undefined : frames.find((f) => f.header.type === 'error'));
    await this.#waitFor(
      () => final(mine()),
      `exit or error of request ${id}`,
      deadlineMs,
    );
    return mine();
  }

  /** Runs one argv and returns its frames. */
  async run(id: number, request: Record<string, unknown>): Promise<RunResult> {
    this.send({ type: 'exec', id, ...request });
    return summarize(await this.collect(id));
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(deadlineMs = DEADLINE_MS): Promise<void> {
    await this.#waitFor(() => (this.#closed ? true : undefined), 'the connection to close', deadlineMs);
  }

  close(): void {
    this.socket.destroy();
  }

  async #waitFor<T>(check: () => T | undefined, what: string, deadlineMs: number): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const found = check();
      if (found !== undefined) return found;
      if (this.#decodeError) throw this.#decodeError;
      if (this.#closed) throw new Error(`connection closed while waiting for ${what}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        const waiters = this.#waiters;
        waiters.add(done);
      });
    }
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
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

export function summarize(frames: readonly Frame[]): RunResult {
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
export async function waitUntil<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, deadlineMs = DEADLINE_MS, intervalMs = 25): Promise<T> {
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

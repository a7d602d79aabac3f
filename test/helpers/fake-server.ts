// A scripted stand-in for rexecd on 127.0.0.1:0, for client tests of what a real server
// never does (wrong proofs, broken frames, silence). Each connection gets a FakePeer.
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { newNonce } from '../../src/protocol/auth-proof.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import type { Frame } from '../../src/protocol/frame.js';

/** How long close() waits for the scripts of closed connections to end. */
const SCRIPT_END_MS = 5000;

/** The server's side of one connection. */
export interface FakePeer {
  readonly socket: Socket;
  /** The server nonce sent by `sendHello`. */
  readonly snonce: Buffer;
  send(header: object, body?: Uint8Array): void;
  sendHello(overrides?: Record<string, unknown>): void;
  /** The next frame from the client (rejects if the connection closes first). */
  nextFrame(): Promise<Frame>;
  /** Resolves when the client's side has closed. */
  readonly closed: Promise<void>;
}

export interface FakeServer {
  readonly port: number;
  /**
   * Closes every connection and the server, then rejects with the first error a script
   * threw (a failed `expect` in it fails the test here, not as an unhandled rejection).
   */
  close(): Promise<void>;
}

/** Starts a fake server; `script` runs for each connection. */
export async function startFakeServer(script: (peer: FakePeer) => void | Promise<void>): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const failures: unknown[] = [];
  const running = new Set<Promise<void>>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const done = (async () => script(fakePeer(socket)))().catch((error: unknown) => {
      failures.push(error);
    });
    running.add(done);
    void done.finally(() => running.delete(done));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      // Scripts still waiting for a frame end now that their connections are gone; one
      // waiting for something else is not waited for past a few seconds.
      let timer: NodeJS.Timeout | undefined;
      const patience = new Promise((resolve) => (timer = setTimeout(resolve, SCRIPT_END_MS)));
      await Promise.race([Promise.all(running), patience]).finally(() => clearTimeout(timer));
      if (failures.length > 0) throw failures[0];
    },
  };
}

function fakePeer(socket: Socket): FakePeer {
  const frames: Frame[] = [];
  const waiters: Array<{ resolve: (frame: Frame) => void; reject: (error: Error) => void }> = [];
  let ended = false;
  const decoder = new FrameDecoder((frame) => {
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(frame);
    else frames.push(frame);
  });
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  void closed.then(() => {
    ended = true;
    for (const waiter of waiters.splice(0)) waiter.reject(new Error('connection closed'));
  });
  const snonce = newNonce();
  const peer: FakePeer = {
    socket,
    snonce,
    closed,
    send(header, body) {
      if (!socket.destroyed) socket.write(encodeFrameBuffer(header, body));
    },
    sendHello(overrides = {}) {
      peer.send({
        type: 'hello',
        protocol: 1,
        server: 'rexecd/fake',
        auth: 'none',
        nonce: snonce.toString('base64'),
        shell: false,
        limits: { maxHeader: 65536, maxBody: 1048576, maxConcurrent: 16 },
        ...overrides,
      });
    },
    nextFrame() {
      const frame = frames.shift();
      if (frame) return Promise.resolve(frame);
      if (ended) return Promise.reject(new Error('connection closed'));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
  };
  return peer;
}

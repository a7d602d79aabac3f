// Deliberately broken servers for the conformance checker's own tests: a real rexecd
// behind a proxy that breaks one rule of docs/protocol.md on purpose. The checker must fail
// exactly the checks of that rule.
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import type { Frame } from '../../src/protocol/frame.js';
import { startServer } from './server.js';
import type { TestServer, TestServerOptions } from './server.js';

/** The rule each server breaks. */
export type Breakage =
  | 'char-lengths' // H counts UTF-16 characters of the JSON text, not its UTF-8 bytes
  | 'unsplit-output' // stdout gathered (up to 4 MiB or 20 ms) and sent as one frame, not split at 1 MiB
  | 'forged-proof' // auth-ok carries a proof made without the key
  | 'no-proof' // auth-ok carries no proof at all
  | 'orphans'; // a client's close never reaches rexecd: its processes outlive the connection

export interface BrokenServer {
  readonly port: number;
  readonly key: string;
  readonly rexecd: TestServer;
  stop(): Promise<void>;
}

/** rexecd behind a proxy that breaks `breakage`. */
export async function startBrokenServer(breakage: Breakage, options: TestServerOptions = {}): Promise<BrokenServer> {
  const rexecd = await startServer(options);
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: rexecd.port });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    if (breakage !== 'orphans') {
      client.on('end', () => upstream.end());
      client.on('close', () => upstream.destroy());
    }
    upstream.on('end', () => client.end());
    upstream.on('close', () => client.destroy());
    const send = (bytes: Buffer): void => {
      if (!client.write(bytes)) {
        // Backpressure as rexecd has it: the proxy must not be what buffers.
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    };
    const rewrite = rewriter(breakage, send);
    const decoder = new FrameDecoder((frame) => {
      for (const bytes of rewrite(frame)) send(bytes);
    });
    upstream.on('data', (chunk: Buffer) => decoder.push(chunk));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as AddressInfo).port,
    key: rexecd.key,
    rexecd,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
      await rexecd.stop();
    },
  };
}

/**
 * Turns each frame from rexecd into the bytes the broken server sends instead (`send`
 * takes what is sent later, by a timer).
 */
function rewriter(breakage: Breakage, send: (bytes: Buffer) => void): (frame: Frame) => Buffer[] {
  const held = new Map<unknown, { bodies: Buffer[]; size: number; timer: NodeJS.Timeout }>();
  const release = (id: unknown): Buffer[] => {
    const entry = held.get(id);
    if (entry === undefined) return [];
    held.delete(id);
    clearTimeout(entry.timer);
    return [unchecked({ type: 'stdout', id }, Buffer.concat(entry.bodies))];
  };
  const unsplit = (header: Frame['header'], body: Buffer): Buffer[] => {
    const id = header['id'];
    if (header.type !== 'stdout') return [...release(id), encodeFrameBuffer(header, body)];
    const entry = held.get(id) ?? { bodies: [], size: 0, timer: setTimeout(() => release(id).forEach(send), 20) };
    held.set(id, entry);
    entry.bodies.push(body);
    entry.size += body.length;
    return entry.size >= 4 * 1024 * 1024 ? release(id) : [];
  };
  return ({ header, body }) => {
    switch (breakage) {
      case 'char-lengths': {
        const json = JSON.stringify(header);
        const prefix = Buffer.alloc(8);
        prefix.writeUInt32BE(json.length, 0);
        prefix.writeUInt32BE(body.length, 4);
        return [Buffer.concat([prefix, Buffer.from(json, 'utf8'), body])];
      }
      case 'unsplit-output':
        return unsplit(header, body);
      case 'forged-proof':
        return [
          encodeFrameBuffer(
            header.type === 'auth-ok' ? { ...header, proof: randomBytes(32).toString('hex') } : header,
            body,
          ),
        ];
      case 'no-proof': {
        if (header.type !== 'auth-ok') return [encodeFrameBuffer(header, body)];
        const { proof: _dropped, ...rest } = header;
        return [encodeFrameBuffer(rest, body)];
      }
      default:
        return [encodeFrameBuffer(header, body)];
    }
  };
}

/** A frame without the encoder's limit checks. */
function unchecked(header: object, body: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32BE(json.length, 0);
  prefix.writeUInt32BE(body.length, 4);
  return Buffer.concat([prefix, json, body]);
}

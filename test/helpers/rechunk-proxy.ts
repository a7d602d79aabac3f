// A TCP proxy on 127.0.0.1 that forwards both directions but re-chunks the byte
// stream: one byte per write, random-size pieces, or everything coalesced into big
// writes. A correct peer must not notice (docs/protocol.md section 1).
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type RechunkMode = 'one-byte' | 'random' | 'coalesce';

export interface RechunkProxy {
  readonly port: number;
  /** Writes forwarded so far, both directions (to show the re-chunking happened). */
  readonly writes: () => number;
  close(): Promise<void>;
}

/** Starts a proxy to 127.0.0.1:`targetPort`. `seed` makes random sizes repeatable. */
export async function startRechunkProxy(targetPort: number, mode: RechunkMode, seed = 1): Promise<RechunkProxy> {
  let writes = 0;
  let state = seed >>> 0 || 1;
  const random = (): number => {
    // xorshift32: repeatable without a dependency.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
  const sockets = new Set<Socket>();
  const forward = (from: Socket, to: Socket): void => {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(flushTimer);
      flushTimer = undefined;
      if (pendingBytes === 0) return;
      writes += 1;
      to.write(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    };
    from.on('data', (chunk: Buffer) => {
      let ok = true;
      if (mode === 'one-byte') {
        for (const byte of chunk) {
          writes += 1;
          ok = to.write(Buffer.from([byte]));
        }
      } else if (mode === 'random') {
        for (let offset = 0; offset < chunk.length;) {
          const size = 1 + Math.floor(random() * (random() < 0.5 ? 16 : 9000));
          writes += 1;
          ok = to.write(chunk.subarray(offset, offset + size));
          offset += size;
        }
      } else {
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 256 * 1024) flush();
        else flushTimer ??= setTimeout(flush, 5);
      }
      if (!ok) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('end', () => {
      flush();
      to.end();
    });
  };
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
      socket.on('close', () => sockets.delete(socket));
    }
    forward(inbound, outbound);
    forward(outbound, inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    writes: () => writes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

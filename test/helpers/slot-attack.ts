// A client without a key that holds connection slots: `sockets` idle connections from
// one address, each reopened as soon as the server closes it. Bounded: it stops by
// itself after `maxOpens` connections or `maxMs`, whichever comes first.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface SlotAttack {
  /** Connections opened so far. */
  readonly opened: number;
  /** Connections the server answered with TOO_MANY_CONNECTIONS, or closed before any hello. */
  readonly refused: number;
  /** Resolves once every socket has been opened at least once. */
  readonly started: Promise<void>;
  /** Stops reopening and closes every socket. */
  stop(): void;
}

export interface SlotAttackOptions {
  readonly port: number;
  readonly from: string;
  readonly sockets: number;
  readonly maxOpens?: number;
  readonly maxMs?: number;
}

export function holdSlots(options: SlotAttackOptions): SlotAttack {
  const { port, from, sockets } = options;
  const maxOpens = options.maxOpens ?? 200_000;
  const live = new Set<Socket>();
  let opened = 0;
  let refused = 0;
  let running = true;
  let startedCount = 0;
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const stop = (): void => {
    running = false;
    clearTimeout(timer);
    for (const socket of live) socket.destroy();
    live.clear();
  };
  const timer = setTimeout(stop, options.maxMs ?? 60_000);
  const open = (): void => {
    if (!running || opened >= maxOpens) return;
    opened += 1;
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    live.add(socket);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      // The first frame is either hello (a slot) or TOO_MANY_CONNECTIONS (refused).
      if (!answered && chunk.includes('TOO_MANY_CONNECTIONS')) refused += 1;
      answered = true;
    });
    socket.on('connect', () => {
      startedCount += 1;
      if (startedCount === sockets) markStarted();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      live.delete(socket);
      if (!answered && running) refused += 1;
      setImmediate(open);
    });
  };
  for (let i = 0; i < sockets; i += 1) open();
  return {
    get opened() {
      return opened;
    },
    get refused() {
      return refused;
    },
    started,
    stop,
  };
}

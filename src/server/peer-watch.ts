// A connection rexecd does not read (section 5: a command that does not read its stdin
// holds the socket) does not show that its client went away: Node sees the client's FIN
// only by reading. The kernel knows, though: /proc/net/tcp and tcp6 list each connection
// with its state, CLOSE_WAIT once the client has closed its side, and no longer list one
// the client reset. So while a connection is held, one paced look at those tables (all
// held connections together, every LOOK_MS) finds the clients that left, and their
// connections are closed as if their end had been read.
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { endianness } from 'node:os';
import type { Socket } from 'node:net';

const LOOK_MS = 2_000;
// /proc/net/tcp `st`: the client has closed its side.
const CLOSE_WAIT = '08';
const LITTLE_ENDIAN = endianness() === 'LE';

/** The tables' text: IPv4 first, then IPv6 (either may be missing). */
function readTables(): string {
  let text = '';
  for (const path of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      text += readFileSync(path, 'latin1');
    } catch {
      // No such table (no IPv6): nothing of ours is in it.
    }
  }
  return text;
}

/** Watches held connections for a client that left; one per server. */
export class PeerWatch {
  readonly #held = new Map<string, () => void>();
  readonly #read: () => string;
  readonly #lookMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(read: () => string = readTables, lookMs = LOOK_MS) {
    this.#read = read;
    this.#lookMs = lookMs;
  }

  /**
   * Calls `gone` once the client of `socket` has closed or reset it, until the function
   * returned is called. A socket whose addresses are unknown (closed already) is not watched.
   */
  watch(socket: Socket, gone: () => void): () => void {
    const key = connectionKey(socket);
    if (key === undefined) return () => {};
    this.#held.set(key, gone);
    this.#arm();
    return () => {
      if (this.#held.get(key) === gone) this.#held.delete(key);
    };
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#held.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#look();
      this.#arm();
    }, this.#lookMs);
    this.#timer.unref();
  }

  #look(): void {
    const states = tcpStates(this.#read());
    for (const [key, gone] of [...this.#held]) {
      const state = states.get(key);
      if (state !== undefined && state !== CLOSE_WAIT) continue;
      this.#held.delete(key);
      gone();
    }
  }
}

/** The state of each connection in the tables, by `local remote` in their own hex form. */
export function tcpStates(text: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const [, local, remote, state] = fields;
    if (local === undefined || remote === undefined || state === undefined || !/^[0-9A-F]{2}$/.test(state)) continue;
    if (!/^[0-9A-F]+:[0-9A-F]{4}$/.test(local) || !/^[0-9A-F]+:[0-9A-F]{4}$/.test(remote)) continue;
    states.set(`${local} ${remote}`, state);
  }
  return states;
}

/** The key of a socket's connection as the tables write it, or undefined when unknown. */
export function connectionKey(
  socket: Pick<Socket, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>,
): string | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined)
    return undefined;
  const local = endpoint(localAddress, localPort);
  const remote = endpoint(remoteAddress, remotePort);
  return local === undefined || remote === undefined ? undefined : `${local} ${remote}`;
}

// An address and port as /proc/net/tcp{,6} write them: the address's 32-bit words each
// in the machine's byte order, the port in hex.
function endpoint(address: string, port: number): string | undefined {
  const bytes = isIPv4(address) ? ipv4Bytes(address) : ipv6Bytes(address);
  if (bytes === undefined) return undefined;
  let hex = '';
  for (let word = 0; word < bytes.length; word += 4) {
    for (let i = 0; i < 4; i += 1) {
      const byte = bytes[word + (LITTLE_ENDIAN ? 3 - i : i)] as number;
      hex += byte.toString(16).padStart(2, '0');
    }
  }
  return `${hex.toUpperCase()}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

// '::1', 'fe80::1%eth0', '::ffff:127.0.0.1' → 16 bytes.
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    tail.push(...ipv4Bytes(dotted[1] as string));
    text = text.slice(0, dotted.index).replace(/:$/, '') || ':';
    if (text === ':') text = '::';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined): string[] => (part === undefined || part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  const missing = 8 - tail.length / 2 - head.length - rest.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
  const all = [...head, ...Array<string>(missing).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  bytes.push(...tail);
  return bytes.length === 16 ? bytes : undefined;
}

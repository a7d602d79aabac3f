// A connection rexecd does not read (section 5: a command that does not read its stdin
// holds the socket) does not show that its client went away: Node sees the client's FIN
// only by reading. The kernel knows, though: /proc/net/tcp and tcp6 list each connection
// with its state, CLOSE_WAIT once the client has closed its side, and no longer list one
// the client reset. So while a connection is held, one paced look at those tables (all
// held connections together, every LOOK_MS) finds the clients that left, and their
// connections are closed as if their end had been read.
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { endianness } from 'node:os';
import type { Socket } from 'node:net';

const LOOK_MS = 2_000;
// /proc/net/tcp `st`: the client has closed its side.
const CLOSE_WAIT = '08';
// Stryker disable next-line ConditionalExpression: every machine the tests run on is little-endian.
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
    // A connection's key is its own (addresses and ports): no other watch shares it.
    return () => this.#held.delete(key);
  }

  #arm(): void {
    // Stryker disable next-line ConditionalExpression,LogicalOperator: one timer, and none while nothing is held, spare looks; a look more finds nothing new.
    if (this.#timer !== undefined || this.#held.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#look();
      this.#arm();
    }, this.#lookMs);
    // Stryker disable next-line CallExpression: unref'd, the look never keeps a stopping rexecd running.
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
    // `sl local_address rem_address st ...`; the header's "key" matches no connection.
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (state !== undefined) states.set(`${local} ${remote}`, state);
  }
  return states;
}

/** The key of a socket's connection as the tables write it, or undefined when unknown. */
export function connectionKey(
  socket: Pick<Socket, 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>,
): string | undefined {
  const local = endpoint(socket.localAddress, socket.localPort);
  const remote = endpoint(socket.remoteAddress, socket.remotePort);
  return local === undefined || remote === undefined ? undefined : `${local} ${remote}`;
}

// An address and port as /proc/net/tcp{,6} write them: the address's 32-bit words each
// in the machine's byte order, the port in hex.
function endpoint(address: string | undefined, port: number | undefined): string | undefined {
  if (address === undefined || port === undefined) return undefined;
  const bytes = isIPv4(address) ? ipv4Bytes(address) : isIPv6(address) ? ipv6Bytes(address) : undefined;
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

// A valid IPv6 address ('::1', 'fe80::1%eth0', '::ffff:127.0.0.1') → its 16 bytes.
function ipv6Bytes(address: string): number[] {
  // Stryker disable next-line Regex: the zone runs to the end either way.
  let text = address.replace(/%.*$/, '');
  const tail: number[] = [];
  // Stryker disable next-line Regex: in a valid address, dotted quads come only at the end.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    tail.push(...ipv4Bytes(dotted[1] as string));
    // '::ffff:1.2.3.4' → '::ffff', '::1.2.3.4' → '::'.
    text = text.slice(0, dotted.index).replace(/(?<=[^:]):$/, '');
  }
  const [head = '', rest = ''] = text.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const before = groups(head);
  const after = groups(rest);
  const missing = 8 - tail.length / 2 - before.length - after.length;
  const bytes: number[] = [];
  for (const group of [...before, ...Array<string>(missing).fill('0'), ...after]) {
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return [...bytes, ...tail];
}

// The door of the listening socket, on real TCP sockets on 127.0.0.1 (no rexecd): who
// gets a slot, what a refused client receives (one TOO_MANY_CONNECTIONS frame naming
// the rule, then the end), that refusals are audited, and the bound on refused sockets
// flushing their frame at once.
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdmissionLimits, AdmissionTicket } from '../../../src/server/admission.js';
import type { AuditEvent } from '../../../src/server/audit.js';
import { ConnectionGate, RETRY_AFTER_MS } from '../../../src/server/connection-gate.js';
import { silentLogger } from '../../../src/server/logger.js';
import { Refusals } from '../../../src/server/refusals.js';
import { RawClient, waitUntil } from '../../helpers/raw-client.js';

interface Door {
  readonly gate: ConnectionGate;
  readonly audited: AuditEvent[];
  readonly port: number;
  /** The server side of the next connection accepted. */
  accepted(): Promise<Socket>;
}

const servers: Server[] = [];
const clients: RawClient[] = [];
const refusalsToClose: Refusals[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  for (const refusals of refusalsToClose.splice(0)) refusals.close();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function door(limits: Partial<AdmissionLimits> = {}): Promise<Door> {
  const audited: AuditEvent[] = [];
  const refusals = new Refusals(
    { record: (event) => audited.push(event), flush: () => Promise.resolve() },
    silentLogger,
    {
      intervalMs: 60_000,
      maxKeys: 1000,
    },
  );
  refusalsToClose.push(refusals);
  const gate = new ConnectionGate(
    { maxConnections: 10, maxUnauthenticated: 10, maxUnauthenticatedPerAddress: 10, ...limits },
    refusals,
  );
  const waiting: Socket[] = [];
  const wakers: Array<() => void> = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    waiting.push(socket);
    wakers.shift()?.();
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = async (): Promise<Socket> => {
    if (waiting.length === 0) await new Promise<void>((resolve) => wakers.push(resolve));
    return waiting.shift() as Socket;
  };
  return { gate, audited, port, accepted };
}

async function connect(d: Door, localAddress?: string): Promise<{ client: RawClient; socket: Socket }> {
  const client = await RawClient.open(d.port, localAddress);
  clients.push(client);
  return { client, socket: await d.accepted() };
}

function ticketOf(slot: AdmissionTicket | undefined): AdmissionTicket {
  if (slot === undefined) throw new Error('refused');
  return slot;
}

describe('connection gate', () => {
  it('gives a slot while there is one, then refuses with one frame naming the rule, and ends the connection', async () => {
    const d = await door({ maxConnections: 1 });
    const first = await connect(d);
    expect(d.gate.enter(first.socket)).toBeDefined();
    const second = await connect(d);
    expect(d.gate.enter(second.socket)).toBeUndefined();
    await second.client.waitClosed();
    expect(second.client.frames.map((frame) => frame.header)).toStrictEqual([
      {
        type: 'error',
        code: 'TOO_MANY_CONNECTIONS',
        message: 'the server is full (1 connections; rule: maxConnections)',
      },
    ]);
    expect(second.socket.destroyed).toBe(true);
    // The admitted one is untouched.
    expect(first.client.closed).toBe(false);
    expect(first.socket.destroyed).toBe(false);
    expect(d.audited).toStrictEqual([
      {
        event: 'connection-refused',
        remote: '127.0.0.1',
        rule: 'maxConnections',
        reason: 'the server is full (1 connections; rule: maxConnections)',
        count: 1,
      },
    ]);
  });

  it('counts connections still authenticating per address', async () => {
    const d = await door({ maxUnauthenticatedPerAddress: 1 });
    const first = await connect(d, '127.0.0.2');
    const slot = ticketOf(d.gate.enter(first.socket));
    const again = await connect(d, '127.0.0.2');
    expect(d.gate.enter(again.socket)).toBeUndefined();
    await again.client.waitClosed();
    // Momentary (a handshake ends in milliseconds): the frame says when to try again.
    expect(again.client.frames.map((frame) => frame.header)).toStrictEqual([
      {
        type: 'error',
        code: 'TOO_MANY_CONNECTIONS',
        message: 'too many connections from 127.0.0.2 still authenticating (1; rule: maxUnauthenticatedPerAddress)',
        retryMs: RETRY_AFTER_MS,
      },
    ]);
    expect(RETRY_AFTER_MS).toBe(50);
    // Another address is not held back; the first one is, until its connection authenticates.
    const other = await connect(d, '127.0.0.3');
    expect(d.gate.enter(other.socket)).toBeDefined();
    slot.authenticated();
    const third = await connect(d, '127.0.0.2');
    expect(d.gate.enter(third.socket)).toBeDefined();
  });

  it('a TLS connection keeps the slot it took at its first byte, and gives it back when refused later', async () => {
    const d = await door({ maxConnections: 1, maxUnauthenticatedPerAddress: 1 });
    const first = await connect(d);
    const ticket = ticketOf(d.gate.enterHandshake(first.socket));
    expect(d.gate.enter(first.socket, ticket)).toBe(ticket);
    ticket.authenticated();
    // Full: the next one passes the handshake caps, then is refused its connection slot.
    const second = await connect(d);
    const handshake = ticketOf(d.gate.enterHandshake(second.socket));
    expect(d.gate.enter(second.socket, handshake)).toBeUndefined();
    await second.client.waitClosed();
    expect(second.client.frames[0]?.header).toMatchObject({
      code: 'TOO_MANY_CONNECTIONS',
      message: expect.stringContaining('rule: maxConnections'),
    });
    // Its unauthenticated slot was given back: the address may start another handshake.
    const third = await connect(d);
    expect(d.gate.enterHandshake(third.socket)).toBeDefined();
  });

  it('closes a handshake it refuses without a frame (none can be sent before TLS), and audits it', async () => {
    const d = await door({ maxUnauthenticatedPerAddress: 1 });
    const first = await connect(d);
    ticketOf(d.gate.enterHandshake(first.socket));
    const second = await connect(d);
    expect(d.gate.enterHandshake(second.socket)).toBeUndefined();
    expect(second.socket.destroyed).toBe(true);
    await second.client.waitClosed();
    expect(second.client.frames).toStrictEqual([]);
    expect(d.audited).toMatchObject([
      { event: 'connection-refused', rule: 'maxUnauthenticatedPerAddress', remote: '127.0.0.1' },
    ]);
  });

  it('flushes the frame to at most 64 refused sockets at once; the rest are closed without it', async () => {
    const d = await door({ maxConnections: 1 });
    const admitted = await connect(d);
    ticketOf(d.gate.enter(admitted.socket));
    const refused: Array<{ client: RawClient; socket: Socket }> = [];
    for (let i = 0; i < 70; i += 1) refused.push(await connect(d));
    // All in one go: none of them has closed yet when the next is refused.
    for (const { socket } of refused) expect(d.gate.enter(socket)).toBeUndefined();
    await Promise.all(refused.map(({ client }) => client.waitClosed()));
    const framed = refused.map(({ client }) => client.frames.length);
    expect(framed).toStrictEqual([...Array<number>(64).fill(1), ...Array<number>(6).fill(0)]);
    // Once they have closed, a refused socket gets its frame again.
    await waitUntil(() => refused.every(({ socket }) => socket.closed), 'the refused sockets to close');
    const later = await connect(d);
    expect(d.gate.enter(later.socket)).toBeUndefined();
    await later.client.waitClosed();
    expect(later.client.frames).toHaveLength(1);
  });
});

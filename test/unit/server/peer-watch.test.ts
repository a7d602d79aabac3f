// The kernel's table of TCP connections, read for connections rexecd is not reading.
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { connectionKey, PeerWatch, tcpStates } from '../../../src/server/peer-watch.js';
import { waitUntil } from '../../helpers/raw-client.js';

const socketOf = (localAddress: string, localPort: number, remoteAddress: string, remotePort: number) => ({
  localAddress,
  localPort,
  remoteAddress,
  remotePort,
});

const TABLE = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  '   0: 0100007F:1F90 0100007F:D212 01 00000000:00000000 00:00000000 00000000     0        0 1050 1',
  '   1: 0100007F:1F90 0200007F:D213 08 00000000:00000000 00:00000000 00000000     0        0 1051 1',
  '   2: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:A000 01 0 0 0 0 0 1',
].join('\n');

describe('connectionKey and tcpStates', () => {
  it('write an address as the tables do (words in little-endian order), IPv4, IPv6 and mapped', () => {
    expect(connectionKey(socketOf('127.0.0.1', 8080, '127.0.0.1', 53778))).toBe('0100007F:1F90 0100007F:D212');
    expect(connectionKey(socketOf('::1', 8080, '::1', 40960))).toBe(
      '00000000000000000000000001000000:1F90 00000000000000000000000001000000:A000',
    );
    expect(connectionKey(socketOf('::ffff:127.0.0.1', 80, 'fe80::1%eth0', 1))).toBe(
      '0000000000000000FFFF00000100007F:0050 000080FE000000000000000001000000:0001',
    );
    expect(connectionKey(socketOf('::ffff:10.20.30.40', 1, '::10.20.30.40', 2))).toBe(
      '0000000000000000FFFF0000281E140A:0001 000000000000000000000000281E140A:0002',
    );
    expect(connectionKey(socketOf('2001:db8:1:2:3:4:5:6', 65535, '1::', 0))).toBe(
      'B80D0120020001000400030006000500:FFFF 00000100000000000000000000000000:0000',
    );
    const whole = socketOf('::1', 1, '::1', 2);
    for (const field of ['localAddress', 'localPort', 'remoteAddress', 'remotePort'] as const) {
      expect(connectionKey({ ...whole, [field]: undefined })).toBeUndefined();
    }
    expect(connectionKey(socketOf('1:2:3', 1, '::1', 2))).toBeUndefined();
    expect(connectionKey(socketOf('::1', 1, '1::2::3', 2))).toBeUndefined();
  });

  it('reads each connection state, however many blanks between the fields', () => {
    const states = tcpStates(`${TABLE}\n   3: 0100007F:0001  0100007F:0002   0A 0 0 0 0 0 1\n\n`);
    expect(states.get('0100007F:1F90 0100007F:D212')).toBe('01');
    expect(states.get('0100007F:1F90 0200007F:D213')).toBe('08');
    expect(states.get('00000000000000000000000001000000:1F90 00000000000000000000000001000000:A000')).toBe('01');
    expect(states.get('0100007F:0001 0100007F:0002')).toBe('0A');
  });
});

describe('PeerWatch', () => {
  it('tells of a client that closed (CLOSE_WAIT) or reset (gone from the table), not of one still there', async () => {
    let table = TABLE;
    const watch = new PeerWatch(() => table, 10);
    const gone: string[] = [];
    watch.watch(socketOf('127.0.0.1', 8080, '127.0.0.1', 53778) as never, () => gone.push('open'));
    watch.watch(socketOf('127.0.0.1', 8080, '127.0.0.2', 53779) as never, () => gone.push('closed'));
    const stop = watch.watch(socketOf('::1', 8080, '::1', 40960) as never, () => gone.push('stopped'));
    stop();
    await waitUntil(() => gone.includes('closed'), 'the closed one');
    table = TABLE.split('\n').slice(0, 1).join('\n');
    await waitUntil(() => gone.includes('open'), 'the reset one');
    expect(gone).toStrictEqual(['closed', 'open']);
  });

  it('watches nothing for a socket whose addresses are gone', async () => {
    const watch = new PeerWatch(() => TABLE, 10);
    let called = false;
    watch.watch({ localAddress: undefined, localPort: 1, remoteAddress: '::1', remotePort: 2 } as never, () => {
      called = true;
    });
    let closed = false;
    watch.watch(socketOf('127.0.0.1', 8080, '127.0.0.2', 53779) as never, () => (closed = true));
    await waitUntil(() => closed, 'a look');
    expect(called).toBe(false);
  });

  it("finds, in the kernel's own tables, the connection whose client closed, not the one still open", async () => {
    const server = createServer();
    const accepted: Socket[] = [];
    server.on('connection', (socket) => {
      // Not read, as a held connection.
      socket.pause();
      accepted.push(socket);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const stays = connect(port, '127.0.0.1');
    await once(stays, 'connect');
    await waitUntil(() => accepted.length === 1, 'the first connection');
    const leaves = connect(port, '127.0.0.1');
    await once(leaves, 'connect');
    await waitUntil(() => accepted.length === 2, 'the second connection');
    const watch = new PeerWatch(undefined, 10);
    const gone: string[] = [];
    watch.watch(accepted[0] as Socket, () => gone.push('stays'));
    watch.watch(accepted[1] as Socket, () => gone.push('leaves'));
    leaves.end();
    await waitUntil(() => gone.length > 0, 'the client that left');
    expect(gone).toStrictEqual(['leaves']);
    stays.destroy();
    for (const socket of accepted) socket.destroy();
    server.close();
  });
});

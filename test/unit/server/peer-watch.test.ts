// The kernel's table of TCP connections, read for connections rexecd is not reading.
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
    expect(connectionKey({ localAddress: undefined, localPort: 1, remoteAddress: '::1', remotePort: 2 })).toBe(
      undefined,
    );
    expect(connectionKey(socketOf('1:2:3', 1, '::1', 2))).toBeUndefined();
    expect(connectionKey(socketOf('1::2::3', 1, '::1', 2))).toBeUndefined();
  });

  it('reads each connection state and skips what is not a row', () => {
    const states = tcpStates(TABLE);
    expect(states.get('0100007F:1F90 0100007F:D212')).toBe('01');
    expect(states.get('0100007F:1F90 0200007F:D213')).toBe('08');
    expect(states.get('00000000000000000000000001000000:1F90 00000000000000000000000001000000:A000')).toBe('01');
    expect(states.size).toBe(3);
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
});

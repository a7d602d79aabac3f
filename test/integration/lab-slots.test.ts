// Connection slots against a client without a key: it cannot take the slots that
// students with a key need, its refused connections are audited in summary, and the
// refused sockets themselves do not pile up on the server.
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { connect as rexecConnect } from '../../src/client/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { startLab } from '../helpers/lab.js';
import { startServer } from '../helpers/server.js';
import { holdSlots } from '../helpers/slot-attack.js';
import { run } from '../helpers/streams.js';
import { certDir, serverCert } from '../helpers/tls.js';

const STUDENT_RUNS = 10;

describe('connection slots under attack', () => {
  it('a class under a slot-holding attack from one address still serves a student with a key', async () => {
    const lab = await startLab({ allow: ['echo'], maxConnections: 128 }, { alice: {} });
    const key = lab.keys['alice'] as string;
    const began = Date.now();
    // 128 idle sockets from 127.0.0.1, reopened as soon as they close.
    const attack = holdSlots({ port: lab.port, from: '127.0.0.1', sockets: 128, maxMs: 120_000 });
    const outcomes: string[] = [];
    try {
      await attack.started;
      // The student is on another machine of the class: 127.0.0.2 on loopback.
      for (let run = 0; run < STUDENT_RUNS; run += 1) {
        try {
          const client = await RawClient.ready(lab.port, key, 'alice', '127.0.0.2');
          outcomes.push((await client.run(1, { argv: ['echo', 'ok'] })).stdout.toString());
          client.close();
        } catch (error) {
          outcomes.push(`failed: ${(error as Error).message}`);
        }
      }
    } finally {
      attack.stop();
      await lab.stop();
    }
    expect(outcomes).toEqual(Array.from({ length: STUDENT_RUNS }, () => 'ok\n'));
    expect(attack.refused).toBeGreaterThan(0);
    // Every refusal is audited, but in summary: the first at once, then counts.
    const refusals = lab.events.filter((e) => e['event'] === 'connection-refused');
    expect(refusals[0]).toMatchObject({ remote: '127.0.0.1', rule: 'maxUnauthenticatedPerAddress', count: 1 });
    expect(String(refusals[0]?.['reason'])).toContain('rule: maxUnauthenticatedPerAddress');
    const counted = refusals.reduce((sum, e) => sum + Number(e['count']), 0);
    expect(counted).toBeGreaterThanOrEqual(attack.refused);
    // One line at once, then at most one summary per 10 s interval (and one at shutdown).
    expect(refusals.length).toBeLessThanOrEqual(2 + Math.ceil((Date.now() - began) / 10_000));
  });

  it('refused sockets are closed by the server, not kept open until the client goes', async () => {
    const server = await startServer({ maxConnections: 2 });
    const held = await RawClient.open(server.port);
    await held.next('hello');
    const attackers: Socket[] = [];
    const fds = (): number => readdirSync('/proc/self/fd').length;
    try {
      const before = fds();
      // Clients that never close their side: only the server can end these sockets.
      const answered = Array.from({ length: 300 }, () => {
        const socket = connect({ host: '127.0.0.1', port: server.port, allowHalfOpen: true });
        socket.on('error', () => {});
        attackers.push(socket);
        return new Promise<void>((resolve) => {
          socket.once('data', () => resolve());
          socket.once('end', () => resolve());
          socket.once('close', () => resolve());
        });
      });
      await Promise.all(answered);
      // 300 client sockets are ours; of the server's ends, only a bounded few may still be
      // flushing their error frame.
      expect(fds()).toBeLessThanOrEqual(before + 300 + 64);
    } finally {
      for (const socket of attackers) socket.destroy();
      held.close();
      await server.stop();
    }
  });

  it('over TLS, sockets that never finish their handshake cannot take the slots either', async () => {
    const dir = await certDir();
    const cert = await serverCert(`${dir.dir}/server`);
    const server = await startServer({ maxConnections: 64, tls: { cert: cert.cert, key: cert.key } });
    // Plain TCP sockets that send nothing: each would sit in its TLS handshake for 10 s.
    const attack = holdSlots({ port: server.port, from: '127.0.0.1', sockets: 64, maxMs: 120_000 });
    const outcomes: string[] = [];
    try {
      await attack.started;
      for (let i = 0; i < 5; i += 1) {
        try {
          const client = await rexecConnect({
            port: server.port,
            key: server.key,
            socketFactory: async ({ host, port }) => {
              const raw = connect({ host, port, localAddress: '127.0.0.2' });
              const socket = tlsConnect({ socket: raw, host, ca: cert.cert, minVersion: 'TLSv1.2' });
              await once(socket, 'secureConnect');
              return socket;
            },
          });
          outcomes.push((await run(client, { argv: ['echo', 'ok'] })).stdout);
          await client.close();
        } catch (error) {
          outcomes.push(`failed: ${(error as Error).message}`);
        }
      }
    } finally {
      attack.stop();
      await server.stop();
      await dir.remove();
    }
    expect(outcomes).toEqual(Array.from({ length: 5 }, () => 'ok\n'));
  });
});

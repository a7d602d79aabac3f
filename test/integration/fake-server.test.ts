// The scripted fake server of the client tests: a script's failure (a failed expect in
// it) fails the test that owns the server, through close(), instead of surfacing as an
// unhandled rejection that no test owns.
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startFakeServer } from '../helpers/fake-server.js';

describe('startFakeServer', () => {
  it("close() rejects with the error a connection's script threw", async () => {
    const fake = await startFakeServer(async (peer) => {
      peer.sendHello();
      const frame = await peer.nextFrame();
      try {
        expect(frame.header.type, 'the script expects auth').toBe('auth');
      } finally {
        // Tells the test that the script has looked at the frame.
        peer.send({ type: 'pong' });
      }
    });
    const socket = netConnect({ host: '127.0.0.1', port: fake.port });
    await once(socket, 'data');
    // A ping where the script expects auth: its expect fails.
    const looked = once(socket, 'data');
    socket.write(Buffer.concat([Buffer.from([0, 0, 0, 15, 0, 0, 0, 0]), Buffer.from('{"type":"ping"}')]));
    await looked;
    socket.destroy();
    await expect(fake.close()).rejects.toThrow('the script expects auth');
  });

  it('close() resolves when every script ended well', async () => {
    const fake = await startFakeServer((peer) => peer.sendHello());
    const socket = netConnect({ host: '127.0.0.1', port: fake.port });
    await once(socket, 'data');
    socket.destroy();
    await expect(fake.close()).resolves.toBeUndefined();
  });
});

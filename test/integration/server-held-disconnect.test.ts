// A client that sends more stdin than its command reads makes rexecd stop reading its
// socket (section 5), and a socket that is not read does not show that its client went
// away. Once, such a client's commands ran on after it disconnected, until their timeout
// (600 s by default), its slot taken all along. rexecd now looks at the kernel's view of
// the connection (the client's FIN) while it is not reading it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive, RawClient, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('a client gone while rexecd is not reading it', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('has its commands ended, as any client that closes', async () => {
    const client = await RawClient.ready(server.port, server.key);
    // It reads one line, says so, and then never reads again.
    client.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'read line; echo got; exec sleep 47'], stdin: true });
    const pid = Number((await client.next('started', 1)).header['pid']);
    try {
      // A client that is killed: it reads nothing more, so its `got` lies unread when its
      // socket is closed, and the kernel resets the connection. (A client whose last
      // bytes are still unsent when it closes sends its FIN after them, which a socket
      // that is not read never takes: that one is noticed once its kernel gives up.)
      client.socket.pause();
      // 16 MiB the command never reads: past the pipe, the server's queue and the kernel's buffers.
      const chunk = Buffer.alloc(64 * 1024, 0x0a);
      for (let i = 0; i < 256; i += 1) client.send({ type: 'stdin', id: 1 }, chunk);
      await waitUntil(() => client.socket.writableLength > 0, 'the server to stop reading');
      client.socket.destroy();
      await waitUntil(() => !pidAlive(pid), 'the command to be ended', 30_000);
    } finally {
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    expect(pidAlive(pid)).toBe(false);
  });
});

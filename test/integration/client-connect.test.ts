// connect(): the handshake against a real rexecd, and against fake servers that break
// the rules a real one keeps (docs/protocol.md section 3).
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, NoGreetingError, RexecError } from '../../src/client/index.js';
import type { RexecClient } from '../../src/client/index.js';
import { computeProof, decodeNonce, keyFromText } from '../../src/protocol/auth-proof.js';
import { startFakeServer } from '../helpers/fake-server.js';
import type { FakePeer } from '../helpers/fake-server.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { rejection } from '../helpers/rejection.js';
import { freePort } from '../helpers/free-port.js';
import { certDir, serverCert } from '../helpers/tls.js';

describe('against rexecd', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ maxConcurrent: 4 });
  });
  afterAll(() => server.stop());

  it('authenticates both ways and reports the hello', async () => {
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    expect(client.authenticated).toBe(true);
    expect(client.user).toBe('default');
    expect(client.hello.protocol).toBe(1);
    expect(client.hello.server).toMatch(/^rexecd\//);
    expect(client.hello.auth).toBe('hmac-sha256');
    expect(client.hello.shell).toBe(false);
    expect(client.hello.limits).toEqual({ maxHeader: 65536, maxBody: 1048576, maxConcurrent: 4 });
    expect(await client.ping({ any: 'json' })).toBeGreaterThanOrEqual(0);
    await client.close();
  });

  it('sends the user name it was given', async () => {
    const alices = await startServer({ user: 'alice' });
    try {
      const client = await connect({ host: alices.host, port: alices.port, key: alices.key, user: 'alice' });
      expect(client.user).toBe('alice');
      await client.close();
    } finally {
      await alices.stop();
    }
  });

  it('surfaces AUTH_FAILED for a wrong key', async () => {
    const error = await rejection(connect({ host: server.host, port: server.port, key: 'not-the-key' }));
    expect(error.code).toBe('AUTH_FAILED');
  });

  it('needs a key for a server with auth', async () => {
    const error = await rejection(connect({ host: server.host, port: server.port }));
    expect(error.code).toBe('KEY_FILE');
  });

  it('uses the socket factory when one is given', async () => {
    const targets: Array<{ host: string; port: number }> = [];
    const client = await connect({
      host: server.host,
      port: server.port,
      key: server.key,
      socketFactory: (target) => {
        targets.push(target);
        return netConnect(target);
      },
    });
    expect(targets).toEqual([{ host: server.host, port: server.port }]);
    expect(await client.ping()).toBeGreaterThanOrEqual(0);
    await client.close();
  });

  it('closes cleanly: close event without error, then refuses new work', async () => {
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    const events: Array<RexecError | undefined> = [];
    client.on('close', (error) => events.push(error));
    await client.close();
    expect(events).toEqual([undefined]);
    expect(await client.closed).toBeUndefined();
    expect(() => client.exec({ argv: ['true'] })).toThrow(RexecError);
    expect((await rejection(client.ping())).code).toBe('CONNECTION_CLOSED');
  });
});

describe('connection limits and shutdown', () => {
  it('surfaces TOO_MANY_CONNECTIONS', async () => {
    const server = await startServer({ maxConnections: 1 });
    const first = await connect({ host: server.host, port: server.port, key: server.key });
    const error = await rejection(connect({ host: server.host, port: server.port, key: server.key }));
    expect(error.code).toBe('TOO_MANY_CONNECTIONS');
    await first.close();
    await server.stop();
  });

  it('a burst of clients from one address all get in: a momentary refusal is tried again', async () => {
    // 40 at once against 2 connections still authenticating per address: without the
    // retry, most of them failed with TOO_MANY_CONNECTIONS (a class behind one NAT).
    const server = await startServer({ maxUnauthenticatedPerAddress: 2, maxConnections: 100 });
    try {
      const clients = await Promise.all(
        Array.from({ length: 40 }, () =>
          connect({ host: server.host, port: server.port, key: server.key, connectTimeoutMs: 60_000 }),
        ),
      );
      const outputs = await Promise.all(
        clients.map(async (client, i) => (await client.run(['echo', String(i)])).stdout),
      );
      expect(outputs).toStrictEqual(Array.from({ length: 40 }, (_, i) => `${i}\n`));
      await Promise.all(clients.map((client) => client.close()));
    } finally {
      await server.stop();
    }
  });

  it('gives up with TOO_MANY_CONNECTIONS, not a timeout, when the slots stay taken past the deadline', async () => {
    const server = await startServer({ maxUnauthenticatedPerAddress: 1 });
    const idle = netConnect({ host: server.host, port: server.port });
    try {
      // A socket that never authenticates holds the address's only slot.
      await new Promise((resolve) => idle.once('data', resolve));
      const error = await rejection(
        connect({ host: server.host, port: server.port, key: server.key, connectTimeoutMs: 800 }),
      );
      expect(error.code).toBe('TOO_MANY_CONNECTIONS');
      expect(error.message).toMatch(/still authenticating/);
      expect(error.retryMs).toBe(50);
    } finally {
      idle.destroy();
      await server.stop();
    }
  });

  it('reports a server that goes away as CONNECTION_CLOSED', async () => {
    const server = await startServer();
    const client = await connect({ host: server.host, port: server.port, key: server.key });
    await server.stop();
    const error = await client.closed;
    expect(error?.code).toBe('CONNECTION_CLOSED');
  });
});

describe('a server without auth', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ noAuth: true });
  });
  afterAll(() => server.stop());

  it('is accepted without a key', async () => {
    const client = await connect({ host: server.host, port: server.port });
    expect(client.authenticated).toBe(false);
    expect(client.hello.auth).toBe('none');
    await client.close();
  });

  it('is refused when a key was given, unless allowNoAuth', async () => {
    const error = await rejection(connect({ host: server.host, port: server.port, key: 'k' }));
    expect(error.code).toBe('SERVER_PROOF');
    const client = await connect({ host: server.host, port: server.port, key: 'k', allowNoAuth: true });
    expect(client.authenticated).toBe(false);
    await client.close();
  });
});

describe('connect failures', () => {
  it('says what to do when nothing listens', async () => {
    const port = await freePort();
    const error = await rejection(connect({ port }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toBe(
      `cannot connect to 127.0.0.1:${port} (connection refused): is rexecd running on 127.0.0.1:${port}?`,
    );
  });

  it('gives up on a server that never says hello', async () => {
    let peerClosed: Promise<void> | undefined;
    const fake = await startFakeServer((peer) => {
      peerClosed = peer.closed;
    });
    const error = await rejection(connect({ port: fake.port, connectTimeoutMs: 300 }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain('no answer within 300 ms');
    await peerClosed;
    await fake.close();
  });

  it('a server that keeps refusing for a moment, slowly, is reported by its refusal when time runs out', async () => {
    // Each answer comes late: the deadline passes while a try is under way.
    let tries = 0;
    const fake = await startFakeServer(async (peer) => {
      tries += 1;
      await new Promise((resolve) => setTimeout(resolve, 400));
      peer.send({ type: 'error', code: 'TOO_MANY_CONNECTIONS', message: 'still authenticating', retryMs: 0 });
      await peer.closed;
    });
    const error = await rejection(connect({ port: fake.port, connectTimeoutMs: 1500 }));
    expect(error.code).toBe('TOO_MANY_CONNECTIONS');
    expect(error.message).toBe('still authenticating');
    expect(tries).toBeGreaterThanOrEqual(2);
    await fake.close();
  });

  it('gives up early on a plain connection that stays silent (a TLS server waits for the client to speak)', async () => {
    const fake = await startFakeServer(() => undefined);
    const error = await rejection(connect({ port: fake.port, connectTimeoutMs: 60_000, helloTimeoutMs: 300 }));
    expect(error).toBeInstanceOf(NoGreetingError);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', reason: 'silent' });
    expect(error.message).toContain('sent no rexec hello within 300 ms');
    await fake.close();
  });

  it('gives up at once when the server answers with a TLS record', async () => {
    // A TLS alert (21), version 3.3, length 2: what some TLS servers send to a stranger.
    const fake = await startFakeServer((peer) => {
      peer.socket.write(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]));
    });
    const error = await rejection(connect({ port: fake.port, connectTimeoutMs: 60_000, helloTimeoutMs: 60_000 }));
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', reason: 'tls' });
    await fake.close();
  });

  it('connects to a real TLS server in clear text: no greeting, within the hello deadline, not the connect deadline', async () => {
    const dir = await certDir();
    const cert = await serverCert(dir.dir);
    const tlsServer = await startServer({ tls: { cert: cert.cert, key: cert.key } });
    try {
      const error = await rejection(
        connect({ port: tlsServer.port, key: tlsServer.key, connectTimeoutMs: 60_000, helloTimeoutMs: 500 }),
      );
      expect(error).toMatchObject({ code: 'CONNECT_FAILED', reason: 'silent' });
    } finally {
      await tlsServer.stop();
      await dir.remove();
    }
  });

  it('refuses a protocol version it does not speak', async () => {
    const fake = await startFakeServer((peer) => peer.sendHello({ protocol: 2 }));
    const error = await rejection(connect({ port: fake.port }));
    expect(error.code).toBe('UNSUPPORTED_VERSION');
    await fake.close();
  });
});

describe('mutual authentication with a fake server', () => {
  const key = 'the shared secret';

  /** Answers auth with `proof(...)` after checking the client's proof. */
  async function fakeWithProof(
    serverProof: (snonce: Buffer, cnonce: Buffer, user: string) => string,
  ): Promise<{ port: number; close: () => Promise<void>; peers: FakePeer[]; cnonces: string[] }> {
    const peers: FakePeer[] = [];
    const cnonces: string[] = [];
    const fake = await startFakeServer(async (peer) => {
      peers.push(peer);
      peer.sendHello({ auth: 'hmac-sha256' });
      const { header } = await peer.nextFrame();
      expect(header.type).toBe('auth');
      const user = header['user'] as string;
      const cnonce = decodeNonce(header['cnonce'] as string);
      expect(cnonce).toBeDefined();
      cnonces.push(header['cnonce'] as string);
      // The client's proof must be exactly section 3's HMAC.
      expect(header['proof']).toBe(computeProof(keyFromText(key), 'client', user, peer.snonce, cnonce as Buffer));
      peer.send({ type: 'auth-ok', user, proof: serverProof(peer.snonce, cnonce as Buffer, user) });
    });
    return { ...fake, peers, cnonces };
  }

  it('accepts a server whose proof is right, with a fresh cnonce each time', async () => {
    const fake = await fakeWithProof((snonce, cnonce, user) =>
      computeProof(keyFromText(key), 'server', user, snonce, cnonce),
    );
    const clients: RexecClient[] = [];
    clients.push(await connect({ port: fake.port, key: `  ${key}\n`, user: 'bob' }));
    clients.push(await connect({ port: fake.port, key }));
    expect(clients.map((client) => client.authenticated)).toEqual([true, true]);
    expect(fake.cnonces[0]).not.toBe(fake.cnonces[1]);
    await Promise.all(clients.map((client) => client.close()));
    await fake.close();
  });

  it('rejects a wrong server proof with SERVER_PROOF and closes', async () => {
    const fake = await fakeWithProof((snonce, cnonce, user) =>
      computeProof(keyFromText('another key'), 'server', user, snonce, cnonce),
    );
    const error = await rejection(connect({ port: fake.port, key }));
    expect(error.code).toBe('SERVER_PROOF');
    await fake.peers[0]?.closed;
    await fake.close();
  });

  it("rejects the client's own proof echoed back as the server's", async () => {
    const fake = await fakeWithProof((snonce, cnonce, user) =>
      computeProof(keyFromText(key), 'client', user, snonce, cnonce),
    );
    expect((await rejection(connect({ port: fake.port, key }))).code).toBe('SERVER_PROOF');
    await fake.close();
  });

  it('surfaces the error a server sends instead of auth-ok', async () => {
    const fake = await startFakeServer(async (peer) => {
      peer.sendHello({ auth: 'hmac-sha256' });
      await peer.nextFrame();
      peer.send({ type: 'error', code: 'AUTH_FAILED', message: 'no' });
      peer.socket.end();
    });
    const error = await rejection(connect({ port: fake.port, key }));
    expect(error.code).toBe('AUTH_FAILED');
    expect(error.message).toBe('no');
    await fake.close();
  });
});

// rexecd over TLS with the client library: a whole session inside TLS (HMAC still on
// top), plaintext clients on the TLS port closed without disturbing others, the
// connection limit, pinned fingerprints, CA verification with host names, mutual TLS.
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, RexecError } from '../../src/index.js';
import type { RexecClient } from '../../src/index.js';
import { tlsSocketFactory } from '../../src/tls.js';
import type { TlsClientOptions } from '../../src/tls.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import { run } from '../helpers/streams.js';
import { startServer } from '../helpers/server.js';
import type { TestServer, TestServerOptions } from '../helpers/server.js';
import { certDir, clientCert, makeCa, serverCert } from '../helpers/tls.js';
import type { CertPair } from '../helpers/tls.js';
import { waitUntil } from '../helpers/raw-client.js';

let dir: { dir: string; remove: () => Promise<void> };
let cert: CertPair;
let other: CertPair;
let onlyExample: CertPair;
let ca: CertPair;
let alice: CertPair;
let mallory: CertPair;
const servers: TestServer[] = [];

beforeAll(async () => {
  dir = await certDir();
  cert = await serverCert(`${dir.dir}/server`);
  other = await serverCert(`${dir.dir}/other`);
  onlyExample = await serverCert(`${dir.dir}/example`, ['example.test']);
  ca = await makeCa(dir.dir, 'site-ca');
  alice = await clientCert(dir.dir, ca, 'alice');
  const rogue = await makeCa(dir.dir, 'rogue-ca');
  mallory = await clientCert(dir.dir, rogue, 'mallory');
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  await dir.remove();
});

async function tlsServer(options: TestServerOptions = {}, pair: CertPair = cert): Promise<TestServer> {
  const server = await startServer({ tls: { cert: pair.cert, key: pair.key }, ...options });
  servers.push(server);
  return server;
}

function open(server: TestServer, tls: TlsClientOptions, host = '127.0.0.1'): Promise<RexecClient> {
  return connect({ host, port: server.port, key: server.key, socketFactory: tlsSocketFactory(tls) });
}

async function failure(promise: Promise<unknown>): Promise<RexecError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RexecError);
  return error as RexecError;
}

/** A raw TCP connection that records what it receives and when it closes. */
async function rawSocket(port: number): Promise<{ socket: Socket; received: () => number; closed: Promise<void> }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let received = 0;
  socket.on('data', (chunk: Buffer) => (received += chunk.length));
  const closed = once(socket, 'close').then(() => undefined);
  await once(socket, 'connect');
  return { socket, received: () => received, closed };
}

describe('a session over TLS', () => {
  it('runs commands inside TLS with a tls-init certificate, authenticated with HMAC on top', async () => {
    const server = await tlsServer();
    expect(server.server.options.tls?.fingerprint).toBe(cert.fingerprint);
    const client = await open(server, { ca: cert.cert });
    try {
      expect(client.authenticated).toBe(true);
      const result = await run(client, { argv: ['sh', '-c', 'echo out; echo err >&2; exit 4'] });
      expect(result).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exit: { code: 4 } });
    } finally {
      await client.close();
    }
  });

  it('still refuses a wrong key inside TLS', async () => {
    const server = await tlsServer();
    const error = await failure(
      connect({ port: server.port, key: 'f'.repeat(64), socketFactory: tlsSocketFactory({ ca: cert.cert }) }),
    );
    expect(error.code).toBe('AUTH_FAILED');
  });

  it('lets a burst of clients from one address in: a close before the handshake is tried again', async () => {
    // Over TLS a refusal for connections still authenticating comes before the handshake,
    // as a close without a frame: the client once failed 14 of 24 with CONNECT_FAILED.
    const server = await tlsServer({ maxUnauthenticatedPerAddress: 2, maxConnections: 100 });
    const clients = await Promise.all(
      Array.from({ length: 24 }, () =>
        connect({
          port: server.port,
          key: server.key,
          connectTimeoutMs: 60_000,
          socketFactory: tlsSocketFactory({ ca: cert.cert }),
        }),
      ),
    );
    expect(clients.every((client) => client.authenticated)).toBe(true);
    await Promise.all(clients.map((client) => client.close()));
  });

  it('says why when the slots stay taken past the deadline', async () => {
    const server = await tlsServer({ maxUnauthenticatedPerAddress: 1 });
    // A TCP connection that sent a byte holds the address's only handshake slot.
    const idle = await rawSocket(server.port);
    idle.socket.write(Buffer.from([0x16]));
    // Held for sure once a second one is refused (closed without a byte).
    const probe = await rawSocket(server.port);
    probe.socket.write(Buffer.from([0x16]));
    await probe.closed;
    expect(probe.received()).toBe(0);
    try {
      const error = await failure(
        connect({
          port: server.port,
          key: server.key,
          connectTimeoutMs: 800,
          socketFactory: tlsSocketFactory({ ca: cert.cert }),
        }),
      );
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain('closed the connection before the TLS handshake');
    } finally {
      idle.socket.destroy();
    }
  });

  it('applies the connection limit as on TCP', async () => {
    const server = await tlsServer({ maxConnections: 1 });
    const first = await open(server, { ca: cert.cert });
    try {
      expect((await failure(open(server, { ca: cert.cert }))).code).toBe('TOO_MANY_CONNECTIONS');
    } finally {
      await first.close();
    }
  });

  it('gives up on a server that never finishes the handshake, and drops the socket', async () => {
    const accepted: Socket[] = [];
    // Reads (so that it sees the client's end) and never answers.
    const silent = createNetServer((socket) => {
      accepted.push(socket.resume());
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const error = await failure(
        connect({ port, key: 'k', connectTimeoutMs: 300, socketFactory: tlsSocketFactory({ ca: cert.cert }) }),
      );
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain('no answer within 300 ms');
      // The client's side is gone, not left to wait for the handshake.
      await waitUntil(() => accepted.length === 1, 'the connection to arrive');
      await once(accepted[0] as Socket, 'close');
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('tells a TLS client that the server speaks plain TCP', async () => {
    const plain = await startServer();
    servers.push(plain);
    const error = await failure(open(plain, { ca: cert.cert }));
    expect(error.code).toBe('TLS');
    expect(error.message).toContain('does not speak TLS');
  });
});

describe('plaintext clients on a TLS port', () => {
  it('closes one that sends frames at once, and one that says nothing at the handshake deadline, while a TLS client works', async () => {
    const server = await tlsServer({ tls: { cert: cert.cert, key: cert.key, handshakeTimeoutMs: 1000 } });
    const talker = await rawSocket(server.port);
    talker.socket.write(encodeFrameBuffer({ type: 'ping' }));
    const silent = await rawSocket(server.port);

    // Meanwhile a TLS client gets through, undisturbed.
    const client = await open(server, { ca: cert.cert });
    try {
      expect((await run(client, { argv: ['echo', 'fine'] })).stdout).toBe('fine\n');
    } finally {
      await client.close();
    }
    await talker.closed;
    await silent.closed;
    // Neither got a byte: no hello in clear text, no TLS either.
    expect(talker.received()).toBe(0);
    expect(silent.received()).toBe(0);
    await waitUntil(() => server.server.connectionCount === 0, 'connections to close');
  });

  it('a plaintext rexec client fails, and the server goes on', async () => {
    const server = await tlsServer({ tls: { cert: cert.cert, key: cert.key, handshakeTimeoutMs: 500 } });
    const error = await failure(connect({ port: server.port, key: server.key, connectTimeoutMs: 30_000 }));
    expect(error.code).toBe('CONNECTION_CLOSED');
    const client = await open(server, { fingerprint: cert.fingerprint });
    await client.close();
  });
});

describe('checking the server', () => {
  it('accepts the pinned fingerprint and refuses another', async () => {
    const server = await tlsServer();
    const client = await open(server, { fingerprint: cert.fingerprint.toLowerCase() });
    await client.close();
    const error = await failure(open(server, { fingerprint: other.fingerprint }));
    expect(error.code).toBe('TLS');
    expect(error.message).toContain(`is ${cert.fingerprint}, not the pinned ${other.fingerprint}`);
  });

  it('verifies the chain and the host name against --ca', async () => {
    const server = await tlsServer();
    await (await open(server, { ca: cert.cert }, 'localhost')).close();
    const untrusted = await failure(open(server, { ca: other.cert }));
    expect(untrusted.code).toBe('TLS');
    expect(untrusted.message).toContain('is not trusted');

    // Right CA, wrong name: the certificate names only example.test.
    const named = await tlsServer({}, onlyExample);
    const mismatch = await failure(open(named, { ca: onlyExample.cert }));
    expect(mismatch.code).toBe('TLS');
    expect(mismatch.message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    const viaName = await open(named, { ca: onlyExample.cert, servername: 'example.test' });
    await viaName.close();
  });

  it('refuses options that cannot check anything', () => {
    expect(() => tlsSocketFactory({})).toThrow(/nothing to check the server with/);
    expect(() => tlsSocketFactory({ fingerprint: 'sha256:1234' })).toThrow(/not a SHA-256 fingerprint/);
    expect(() => tlsSocketFactory({ ca: cert.cert, cert: alice.cert })).toThrow(/needs its key/);
  });
});

describe('mutual TLS', () => {
  it('accepts a client certificate from the site CA and refuses none or another', async () => {
    const server = await tlsServer({ tls: { cert: cert.cert, key: cert.key, clientCa: ca.cert } });
    const client = await open(server, { ca: cert.cert, cert: alice.cert, key: alice.key });
    try {
      expect((await run(client, { argv: ['echo', 'mutual'] })).stdout).toBe('mutual\n');
    } finally {
      await client.close();
    }
    // Without a certificate the handshake itself fails (the server's alert says why).
    const none = await failure(open(server, { ca: cert.cert }));
    expect(none.code).toBe('TLS');
    expect(none.message).toContain('requires a client certificate');
    // With one from another CA, node:tls closes the connection right after the handshake.
    const rogue = await failure(open(server, { ca: cert.cert, cert: mallory.cert, key: mallory.key }));
    expect(rogue.code).toBe('CONNECTION_CLOSED');
    expect(rogue.message).toContain('during the handshake');
  });
});

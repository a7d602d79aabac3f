// The TLS listener on its own: handshakes in progress take admission slots (bounded) and
// are closed on shutdown, a completed handshake is handed over with its slot, bad
// certificates are CONFIG errors.
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../../src/server/logger.js';
import { Admission, isRefusal } from '../../../src/server/admission.js';
import type { AdmissionTicket } from '../../../src/server/admission.js';
import { resolveTlsSetting, TlsListener } from '../../../src/server/tls-listener.js';
import { waitUntil } from '../../helpers/raw-client.js';
import { certDir, serverCert } from '../../helpers/tls.js';
import type { CertPair } from '../../helpers/tls.js';

let dir: { dir: string; remove: () => Promise<void> };
let cert: CertPair;
let other: CertPair;
beforeAll(async () => {
  dir = await certDir();
  cert = await serverCert(`${dir.dir}/a`);
  other = await serverCert(`${dir.dir}/b`);
});
afterAll(() => dir.remove());

async function listen(
  maxHandshakes: number,
  onSecure: (socket: TLSSocket, ticket: AdmissionTicket | undefined) => void,
): Promise<{ listener: TlsListener; port: number; admission: Admission }> {
  const setting = resolveTlsSetting({ cert: cert.cert, key: cert.key, handshakeTimeoutMs: 600_000 });
  const admission = new Admission({
    maxConnections: 100,
    maxUnauthenticated: maxHandshakes,
    maxUnauthenticatedPerAddress: 100,
  });
  const admit = (): AdmissionTicket | undefined => {
    const admitted = admission.admit('127.0.0.1');
    return isRefusal(admitted) ? undefined : admitted;
  };
  const listener = new TlsListener(setting, admit, silentLogger, onSecure);
  listener.server.listen(0, '127.0.0.1');
  await once(listener.server, 'listening');
  return { listener, port: (listener.server.address() as AddressInfo).port, admission };
}

async function silentSocket(port: number): Promise<{ socket: Socket; closed: Promise<unknown> }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  return { socket, closed };
}

it('bounds the handshakes in progress, and closes them on request', async () => {
  const { listener, port, admission } = await listen(1, () => {});
  const first = await silentSocket(port);
  await waitUntil(() => listener.handshakes === 1, 'the first handshake to count');
  expect(admission.unauthenticated).toBe(1);
  // Over the bound: closed before any TLS.
  const second = await silentSocket(port);
  await second.closed;
  expect(listener.handshakes).toBe(1);
  listener.destroyHandshakes();
  await first.closed;
  expect(listener.handshakes).toBe(0);
  expect(admission.unauthenticated).toBe(0);
  await new Promise((resolve) => listener.server.close(resolve));
});

it('hands over connections whose handshake is done, and stops counting them', async () => {
  const secured: TLSSocket[] = [];
  const tickets: Array<AdmissionTicket | undefined> = [];
  const { listener, port, admission } = await listen(4, (socket, ticket) => {
    secured.push(socket);
    tickets.push(ticket);
    socket.end('hi');
  });
  const client = tlsConnect({ host: '127.0.0.1', port, ca: cert.cert, minVersion: 'TLSv1.2' });
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(client, 'end');
  client.end();
  expect(Buffer.concat(chunks).toString()).toBe('hi');
  expect(secured).toHaveLength(1);
  // The slot goes with the connection: still counted until its owner releases it.
  expect(tickets[0]).toBeDefined();
  expect(admission.unauthenticated).toBe(1);
  tickets[0]?.release();
  expect(admission.unauthenticated).toBe(0);
  await waitUntil(() => listener.handshakes === 0, 'the handshake count to drop');
  await new Promise((resolve) => listener.server.close(resolve));
});

it('refuses TLS 1.1 clients', async () => {
  const { listener, port } = await listen(4, () => {});
  const client = tlsConnect({ host: '127.0.0.1', port, ca: cert.cert, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
  const [error] = (await once(client, 'error').catch((caught: unknown) => [caught])) as [NodeJS.ErrnoException];
  expect(error.code).toMatch(/^ERR_SSL_/);
  await new Promise((resolve) => listener.server.close(resolve));
});

it('turns a bad certificate or a key of another certificate into CONFIG errors', () => {
  expect(() => resolveTlsSetting({ cert: 'not a certificate', key: cert.key })).toThrow(/not a PEM certificate/);
  const mismatched = resolveTlsSetting({ cert: cert.cert, key: other.key });
  expect(
    () =>
      new TlsListener(
        mismatched,
        () => undefined,
        silentLogger,
        () => {},
      ),
  ).toThrow(/cannot use the TLS certificate and key/);
});

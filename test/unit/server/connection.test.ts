// A Connection over an in-memory pair of streams, with a real ServerHost (real policy,
// real processes): the exact sequence of frames of each phase, and what a bug of ours
// while taking frames in costs (this connection only, never blamed on the peer).
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText } from '../../../src/common/key-file.js';
import { Probe } from '../../../src/conformance/probe.js';
import { computeProof, keyFromText, newNonce } from '../../../src/protocol/auth-proof.js';
import { encodeFrameBuffer } from '../../../src/protocol/frame-encoder.js';
import { Connection } from '../../../src/server/connection.js';
import type { LogFields, ServerLogger } from '../../../src/server/logger.js';
import type { ServerOptions } from '../../../src/server/options.js';
import { resolveOptions } from '../../../src/server/resolve-options.js';
import { ServerHost } from '../../../src/server/server-host.js';
import { memoryPair } from '../../helpers/memory-pair.js';

const WAIT_MS = 20_000;
const KEY = generateKeyText();
let root: string;
beforeAll(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'rexec-connection-')));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Served {
  readonly connection: Connection;
  readonly probe: Probe;
  readonly lines: Array<{ level: string; fields: LogFields; message: string }>;
  /** Connections the server was told have closed. */
  readonly closed: Connection[];
}

const hosts: ServerHost[] = [];
afterEach(() => {
  for (const host of hosts.splice(0)) host.refusals.close();
});

/** A connection of a server with these options, and a probe at the client's end. */
function serve(options: Partial<ServerOptions> = {}, prepare: (serverEnd: Duplex) => void = () => {}): Served {
  const [serverEnd, clientEnd] = memoryPair();
  prepare(serverEnd);
  const lines: Served['lines'] = [];
  const log = (level: string) => (fields: LogFields, message: string) => lines.push({ level, fields, message });
  const logger: ServerLogger = { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') };
  const closed: Connection[] = [];
  const host = new ServerHost(
    resolveOptions({
      auth: { mode: 'hmac-sha256', keys: new Map([['default', KEY]]) },
      root,
      graceMs: 300,
      logger,
      ...options,
    }),
    {
      draining: false,
      commandCountChanged: () => {},
      recordGroup: () => {},
      recordGroupMembers: () => {},
      connectionAuthenticated: () => {},
      connectionClosed: (connection) => closed.push(connection),
    },
  );
  hosts.push(host);
  const connection = new Connection(serverEnd, host, { conn: 1, remote: 'memory:1', address: 'memory' });
  connection.start();
  return { connection, probe: Probe.over(clientEnd), lines, closed };
}

/** Reads hello and authenticates as the default user. */
async function authenticate(probe: Probe): Promise<void> {
  const hello = await probe.next({ type: 'hello' }, WAIT_MS);
  const snonce = Buffer.from(String(hello.header['nonce']), 'base64');
  const cnonce = newNonce();
  const proof = computeProof(keyFromText(KEY), 'client', 'default', snonce, cnonce);
  probe.send({ type: 'auth', user: 'default', cnonce: cnonce.toString('base64'), proof });
  expect((await probe.next({}, WAIT_MS)).header.type).toBe('auth-ok');
}

describe('Connection over an in-memory pair', () => {
  it('hello, auth-ok, then an exec: started, its output, exit, in that order', async () => {
    const { probe, connection } = serve();
    await authenticate(probe);
    probe.send({ type: 'exec', id: 1, argv: ['echo', 'in memory'] });
    await probe.next({ type: 'exit', id: 1 }, WAIT_MS);
    expect(probe.frames.map((frame) => frame.header.type)).toEqual(['hello', 'auth-ok', 'started', 'stdout', 'exit']);
    expect(probe.received({ type: 'stdout', id: 1 })[0]?.body.toString()).toBe('in memory\n');
    expect(probe.received({ type: 'exit', id: 1 })[0]?.header).toMatchObject({ code: 0, signal: null });
    expect(connection.running).toBe(0);
    probe.destroy();
  });

  it('a frame before auth is AUTH_REQUIRED, then the connection closes, reported to the server once', async () => {
    const served = serve();
    await served.probe.next({ type: 'hello' }, WAIT_MS);
    served.probe.send({ type: 'ping' });
    expect((await served.probe.next({ type: 'error' }, WAIT_MS)).header).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(served.connection.closed).toBe(true);
    expect(served.closed).toEqual([served.connection]);
    served.probe.destroy();
  });

  it('a second auth is BAD_REQUEST and the connection goes on', async () => {
    const { probe } = serve();
    await authenticate(probe);
    probe.send({ type: 'auth', user: 'default', cnonce: 'AAAA', proof: 'x' });
    expect((await probe.next({ type: 'error' }, WAIT_MS)).header).toEqual({
      type: 'error',
      code: 'BAD_REQUEST',
      message: 'already authenticated',
    });
    probe.send({ type: 'ping', ts: 1 });
    expect((await probe.next({ type: 'pong' }, WAIT_MS)).header).toEqual({ type: 'pong', ts: 1 });
    probe.destroy();
  });

  // Section 2 blames the peer for its bytes only. Here the server's own flow control
  // throws (as a bug would) when a full queue makes it pause the stream: the connection
  // must close as an internal error of ours, logged with its stack, and must not tell
  // the client that its frames were malformed.
  it('a bug while taking frames in closes the connection as an internal error, not as PROTOCOL', async () => {
    const served = serve({}, (serverEnd) => {
      serverEnd.pause = () => {
        throw new TypeError('a bug in flow control');
      };
    });
    const { probe } = served;
    await authenticate(probe);
    // The exec's cwd is resolved asynchronously: the pings behind it fill the queue.
    const frames = [
      { type: 'exec', id: 1, argv: ['true'], cwd: '.' },
      ...Array.from({ length: 300 }, (_, ts) => ({ type: 'ping', ts })),
    ];
    probe.write(Buffer.concat(frames.map((frame) => encodeFrameBuffer(frame))));
    await probe.waitClosed(WAIT_MS);
    expect(served.connection.closed).toBe(true);
    expect(probe.received({ type: 'error' })).toEqual([]);
    const internal = served.lines.find((line) => line.message === 'internal error');
    expect(internal?.level).toBe('error');
    expect(String(internal?.fields['err'])).toMatch(/^TypeError: a bug in flow control\n\s+at /);
    expect(served.lines.find((line) => line.message === 'disconnected')?.fields).toMatchObject({
      reason: 'internal error',
    });
  });
});

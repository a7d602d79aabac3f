// docs/protocol.md section 3 against a real rexecd: hello, mutual proofs, failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeProof, keyFromText, newNonce } from '../../src/protocol/auth-proof.js';
import { RawClient } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

describe('handshake', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ authTimeoutMs: 1_000 });
  });
  afterAll(() => server.stop());

  async function authenticate(
    user: string | undefined,
    key: string,
    cnonce = newNonce(),
  ): Promise<{ client: RawClient; snonce: Buffer; cnonce: Buffer }> {
    const client = await RawClient.open(server.port);
    const hello = await client.next('hello');
    const snonce = Buffer.from(String(hello.header['nonce']), 'base64');
    const name = user ?? 'default';
    client.send({
      type: 'auth',
      ...(user === undefined ? {} : { user }),
      cnonce: cnonce.toString('base64'),
      proof: computeProof(keyFromText(key), 'client', name, snonce, cnonce),
    });
    return { client, snonce, cnonce };
  }

  it('sends hello first, with a fresh 32-byte nonce on every connection', async () => {
    const a = await RawClient.open(server.port);
    const b = await RawClient.open(server.port);
    const [ha, hb] = [(await a.next()).header, (await b.next()).header];
    expect(ha).toMatchObject({
      type: 'hello',
      protocol: 1,
      auth: 'hmac-sha256',
      shell: false,
      limits: { maxHeader: 65536, maxBody: 1048576, maxConcurrent: 16 },
    });
    expect(String(ha['server'])).toMatch(/^rexecd\/\d+\.\d+\.\d+/);
    expect(Buffer.from(String(ha['nonce']), 'base64')).toHaveLength(32);
    expect(ha['nonce']).not.toBe(hb['nonce']);
    a.close();
    b.close();
  });

  it('accepts a right proof and proves itself with the server label', async () => {
    const { client, snonce, cnonce } = await authenticate('default', server.key);
    const ok = await client.next();
    expect(ok.header).toMatchObject({ type: 'auth-ok', user: 'default' });
    expect(ok.header['proof']).toBe(computeProof(keyFromText(server.key), 'server', 'default', snonce, cnonce));
    // Whitespace around the key's text is not part of the key.
    const padded = await authenticate(undefined, `  ${server.key}\n`);
    expect((await padded.client.next()).header).toMatchObject({ type: 'auth-ok', user: 'default' });
    client.close();
    padded.client.close();
  });

  it('with one shared key knows only the user "default": another name with the right key is AUTH_FAILED', async () => {
    // Once, any name was accepted with the shared key, and logged as if proved.
    for (const user of ['nobody-123', 'teacher', 'Default', '*']) {
      const { client } = await authenticate(user, server.key);
      expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_FAILED' });
      await client.waitClosed();
    }
  });

  it('refuses a wrong proof with AUTH_FAILED and closes: one attempt per connection', async () => {
    const { client } = await authenticate('alice', 'not the key');
    expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_FAILED' });
    await client.waitClosed();
  });

  it('refuses a cnonce that is not 32 bytes', async () => {
    const { client } = await authenticate('alice', server.key, Buffer.alloc(16, 1));
    expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_FAILED' });
    await client.waitClosed();
  });

  it('refuses an auth frame without a proof', async () => {
    const client = await RawClient.open(server.port);
    await client.next('hello');
    client.send({ type: 'auth', cnonce: newNonce().toString('base64') });
    expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_FAILED' });
    await client.waitClosed();
  });

  it('answers any other frame before auth-ok with AUTH_REQUIRED and closes', async () => {
    const client = await RawClient.open(server.port);
    await client.next('hello');
    client.send({ type: 'exec', id: 1, argv: ['true'] });
    expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_REQUIRED' });
    await client.waitClosed();
  });

  it('a frame type of 65,000 characters before auth gets AUTH_REQUIRED quoting it clipped, and the server lives on', async () => {
    const client = await RawClient.open(server.port);
    await client.next('hello');
    client.send({ type: 'x'.repeat(65_000) });
    const error = (await client.next('error')).header;
    expect(error).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(String(error['message']).length).toBeLessThan(1000);
    await client.waitClosed();
    const other = await RawClient.ready(server.port, server.key);
    expect((await other.run(1, { argv: ['echo', 'alive'] })).stdout.toString()).toBe('alive\n');
    other.close();
  });

  it('closes a connection that does not authenticate in time with AUTH_TIMEOUT', async () => {
    const client = await RawClient.open(server.port);
    await client.next('hello');
    expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_TIMEOUT' });
    await client.waitClosed();
  });

  it('the server proof is never valid as a client proof', async () => {
    const client = await RawClient.open(server.port);
    const hello = await client.next('hello');
    const snonce = Buffer.from(String(hello.header['nonce']), 'base64');
    const cnonce = newNonce();
    client.send({
      type: 'auth',
      cnonce: cnonce.toString('base64'),
      proof: computeProof(keyFromText(server.key), 'server', 'default', snonce, cnonce),
    });
    expect((await client.next()).header).toMatchObject({ type: 'error', code: 'AUTH_FAILED' });
  });
});

describe('connection limit and no-auth mode', () => {
  it('sends TOO_MANY_CONNECTIONS instead of hello when full, counting unauthenticated connections', async () => {
    const server = await startServer({ maxConnections: 1 });
    try {
      const first = await RawClient.open(server.port);
      await first.next('hello');
      const second = await RawClient.open(server.port);
      expect((await second.next()).header).toMatchObject({ type: 'error', code: 'TOO_MANY_CONNECTIONS' });
      await second.waitClosed();
      first.close();
    } finally {
      await server.stop();
    }
  });

  it('gives no hint to try again when the server is full of authenticated connections', async () => {
    const server = await startServer({ maxConnections: 1 });
    try {
      const first = await RawClient.ready(server.port, server.key);
      const second = await RawClient.open(server.port);
      const refusal = (await second.next()).header;
      expect(refusal).toMatchObject({ type: 'error', code: 'TOO_MANY_CONNECTIONS' });
      expect(String(refusal['message'])).toContain('rule: maxConnections');
      // A full server can stay full for hours: a client must not wait on it.
      expect(refusal).not.toHaveProperty('retryMs');
      await second.waitClosed();
      first.close();
    } finally {
      await server.stop();
    }
  });

  it('says when a refusal is momentary: too many connections still authenticating from one address', async () => {
    const server = await startServer({ maxUnauthenticatedPerAddress: 2 });
    try {
      const held = [await RawClient.open(server.port), await RawClient.open(server.port)];
      for (const client of held) await client.next('hello');
      const third = await RawClient.open(server.port);
      expect((await third.next()).header).toStrictEqual({
        type: 'error',
        code: 'TOO_MANY_CONNECTIONS',
        message: 'too many connections from 127.0.0.1 still authenticating (2; rule: maxUnauthenticatedPerAddress)',
        retryMs: 50,
      });
      await third.waitClosed();
      for (const client of held) client.close();
    } finally {
      await server.stop();
    }
  });

  // A connection of a server without auth is admitted as it opens: it must leave the
  // count of connections still authenticating at once, or the per-address cap of those
  // (here 2) would limit how many connections one address may have at all.
  it('counts no connection of a server without auth as still authenticating', async () => {
    const server = await startServer({ noAuth: true, maxConnections: 8, maxUnauthenticatedPerAddress: 2 });
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 5; i += 1) {
        const client = await RawClient.open(server.port);
        clients.push(client);
        expect((await client.next('hello')).header['auth']).toBe('none');
        expect((await client.run(1, { argv: ['echo', String(i)] })).stdout.toString()).toBe(`${i}\n`);
      }
    } finally {
      for (const client of clients) client.close();
      await server.stop();
    }
  });

  it('lets clients send requests right after hello when auth is none', async () => {
    const server = await startServer({ noAuth: true });
    try {
      const client = await RawClient.open(server.port);
      expect((await client.next('hello')).header['auth']).toBe('none');
      const result = await client.run(1, { argv: ['echo', 'open'] });
      expect(result.stdout.toString()).toBe('open\n');
      client.close();
    } finally {
      await server.stop();
    }
  });
});

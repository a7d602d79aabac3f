// Section 6 against a real rexecd: no process outlives its connection, idle
// connections are closed, and a draining server finishes what runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, pidAlive, summarize, waitUntil } from '../helpers/raw-client.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

// A grandchild that ignores SIGTERM (the disposition is inherited), printing its pid.
const STUBBORN = 'trap "" TERM; sleep 1000 & echo $!; wait';

describe('closing a connection ends its processes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ graceMs: 300 });
  });
  afterAll(() => server.stop());

  async function startStubborn(client: RawClient, id: number): Promise<{ leader: number; grandchild: number }> {
    client.send({ type: 'exec', id, argv: ['sh', '-c', STUBBORN] });
    const leader = Number((await client.next('started', id)).header['pid']);
    const out = await client.next('stdout', id);
    return { leader, grandchild: Number(out.body.toString().trim()) };
  }

  it('on a clean close (FIN): SIGTERM, then SIGKILL reaches a grandchild that ignores SIGTERM', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const { leader, grandchild } = await startStubborn(client, 1);
    expect(pidAlive(grandchild)).toBe(true);
    client.socket.end();
    await waitUntil(() => !pidAlive(grandchild) && !pidAlive(leader), 'the process group to be gone');
    await waitUntil(() => server.server.runningCount === 0, 'the server to count nothing running');
  });

  it('on a reset (the client vanishes)', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const { grandchild } = await startStubborn(client, 1);
    client.socket.resetAndDestroy();
    await waitUntil(() => !pidAlive(grandchild), 'the grandchild to be gone');
  });

  it('also ends what is left of commands that already exited', async () => {
    const client = await RawClient.ready(server.port, server.key);
    const result = await client.run(1, {
      argv: ['sh', '-c', 'trap "" TERM; sleep 1000 >/dev/null 2>&1 & echo $!'],
    });
    expect(result.exit).toMatchObject({ code: 0 });
    const grandchild = Number(result.stdout.toString().trim());
    expect(pidAlive(grandchild)).toBe(true);
    client.close();
    await waitUntil(() => !pidAlive(grandchild), 'the leftover background process to be gone');
  });

  it('20 connections closing at once leave nothing running', async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.ready(server.port, server.key)));
    const pids = await Promise.all(clients.map(async (client) => (await startStubborn(client, 7)).grandchild));
    for (const client of clients) client.close();
    await waitUntil(() => pids.every((pid) => !pidAlive(pid)), 'every grandchild to be gone');
  });
});

describe('idle connections', () => {
  it('closes a connection idle past the limit with IDLE_TIMEOUT, but not while a command runs', async () => {
    const server = await startServer({ idleTimeoutMs: 400 });
    try {
      const client = await RawClient.ready(server.port, server.key);
      // Runs longer than the idle limit: the connection must survive it.
      const result = await client.run(1, { argv: ['sleep', '1'] });
      expect(result.exit).toMatchObject({ code: 0 });
      expect(client.closed).toBe(false);
      expect((await client.next('error')).header).toMatchObject({ code: 'IDLE_TIMEOUT' });
      await client.waitClosed();
    } finally {
      await server.stop();
    }
  });
});

describe('shutdown', () => {
  it('refuses new exec with SHUTTING_DOWN, lets running commands finish, then closes', async () => {
    const server = await startServer({ graceMs: 5_000 });
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'read line; echo "got $line"'], stdin: true });
    await client.next('started', 1);
    const drained = server.stop();
    client.send({ type: 'exec', id: 2, argv: ['true'] });
    expect((await client.next('error', 2)).header).toMatchObject({ code: 'SHUTTING_DOWN' });
    client.send({ type: 'stdin', id: 1, eof: true }, Buffer.from('last words\n'));
    const result = summarize(await client.collect(1));
    expect(result.stdout.toString()).toBe('got last words\n');
    expect(result.exit).toMatchObject({ code: 0 });
    await client.waitClosed();
    await drained;
  });

  it('ends commands still running after the grace period, still sending their exit', async () => {
    const server = await startServer({ graceMs: 300 });
    const client = await RawClient.ready(server.port, server.key);
    client.send({ type: 'exec', id: 1, argv: ['sleep', '60'] });
    await client.next('started', 1);
    const drained = server.stop();
    const result = summarize(await client.collect(1));
    expect(result.exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    await client.waitClosed();
    await drained;
  });
});

// The library serves; the program (src/cli/rexecd.ts) owns the process. A server that
// is created, runs a command and shuts down leaves the process as it found it.
describe('the library leaves the process alone', () => {
  const EVENTS = [
    'uncaughtException',
    'unhandledRejection',
    'SIGTERM',
    'SIGINT',
    'SIGHUP',
    'exit',
    'beforeExit',
    'warning',
  ] as const;
  const processState = (): Record<string, unknown> => ({
    listeners: Object.fromEntries(EVENTS.map((event) => [event, process.listenerCount(event)])),
    exitCode: process.exitCode,
    cwd: process.cwd(),
    title: process.title,
  });

  it('createServer, listen, a command and shutdown change no process-wide state', async () => {
    const before = processState();
    const server = await startServer();
    const client = await RawClient.ready(server.port, server.key);
    expect((await client.run(1, { argv: ['echo', 'x'] })).stdout.toString()).toBe('x\n');
    expect(processState()).toStrictEqual(before);
    client.close();
    await server.stop();
    expect(processState()).toStrictEqual(before);
  });
});

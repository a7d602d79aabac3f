// `--timeout` is the server's to enforce. A server that does not (wedged, or hostile:
// `started`, then silence) must not hold rexec for ever: with --timeout, rexec waits that
// long and an allowance for the server's grace period, then gives up with an error.
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec/main.js';
import { EXIT_ALLOWANCE_MS } from '../../src/cli/rexec/run/exit-deadline.js';
import { captureIo } from '../helpers/capture-io.js';
import { startFakeServer } from '../helpers/fake-server.js';
import type { FakeServer } from '../helpers/fake-server.js';

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function silentServer(): Promise<number> {
  fake = await startFakeServer(async (peer) => {
    peer.sendHello();
    for (;;) {
      const frame = await peer.nextFrame().catch(() => undefined);
      if (frame === undefined) return;
      if (frame.header.type === 'exec') peer.send({ type: 'started', id: frame.header['id'], pid: 4242 });
    }
  });
  return fake.port;
}

describe('a server that starts the command and then says nothing', () => {
  const deadline = EXIT_ALLOWANCE_MS + 20_000;

  it('rexec run --timeout gives up after the timeout and its allowance', { timeout: deadline }, async () => {
    const port = await silentServer();
    const captured = captureIo();
    const status = await main(['run', '-n', '--timeout', '100', '-H', `127.0.0.1:${port}`, '--', 'true'], captured.io);
    expect(status).toBe(255);
    expect(captured.stderr()).toMatch(/no exit from the server .* after --timeout/);
  });

  it('a fan-out host gives up the same way, and the others are reported', { timeout: deadline }, async () => {
    const port = await silentServer();
    const captured = captureIo();
    const hosts = `127.0.0.1:${port},localhost:${port}`;
    const status = await main(['run', '--timeout', '100', '-H', hosts, '--', 'true'], captured.io);
    expect(status).not.toBe(0);
    expect(captured.stderr()).toMatch(/no exit from the server .* after --timeout/);
    expect(captured.stderr()).toMatch(/2 hosts/);
  });
});

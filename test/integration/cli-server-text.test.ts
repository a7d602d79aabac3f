// What a server says reaches the user's terminal only escaped, one line per message: a
// hostile server must not set the window title, rub out a line and print a fake summary,
// hide what follows, or add lines of its own, through an error message or its name.
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec/main.js';
import { captureIo } from '../helpers/capture-io.js';
import { startFakeServer } from '../helpers/fake-server.js';
import type { FakeServer } from '../helpers/fake-server.js';

const EVIL = '\u001b]0;PWNED\u0007\u001b[2K\rrexec: 2 hosts: 2 ok, 0 failed\nrexec: all good\u001b[8m';

let fake: FakeServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function evilServer(): Promise<number> {
  fake = await startFakeServer(async (peer) => {
    peer.sendHello({ server: EVIL });
    for (;;) {
      const frame = await peer.nextFrame().catch(() => undefined);
      if (frame === undefined) return;
      if (frame.header.type === 'exec') {
        peer.send({ type: 'error', id: frame.header['id'], code: 'DENIED', message: EVIL });
      } else if (frame.header.type === 'ping') {
        peer.send({ type: 'pong', ts: frame.header['ts'] });
      }
    }
  });
  return fake.port;
}

// No terminal control, and no line that the server wrote on its own.
function expectHarmless(text: string): void {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  for (const line of text.split('\n')) expect(line).not.toMatch(/^rexec: all good/);
}

describe('server text on the user terminal', () => {
  it('one host: the refusal is one escaped line', async () => {
    const port = await evilServer();
    const captured = captureIo();
    const status = await main(['run', '-H', `127.0.0.1:${port}`, '--', 'ls'], captured.io);
    expect(status).not.toBe(0);
    expect(captured.stderr()).toContain('\\u001b]0;PWNED');
    expectHarmless(captured.stderr());
    expectHarmless(captured.stdout());
  });

  it('many hosts: each host line is escaped', async () => {
    const port = await evilServer();
    const captured = captureIo();
    const status = await main(['run', '-H', `127.0.0.1:${port},localhost:${port}`, '--', 'ls'], captured.io);
    expect(status).not.toBe(0);
    expect(captured.stderr()).toContain('\\u001b]0;PWNED');
    expectHarmless(captured.stderr());
    expectHarmless(captured.stdout());
  });

  it("ping: the server's name is escaped", async () => {
    const port = await evilServer();
    const captured = captureIo();
    expect(await main(['ping', '-H', `127.0.0.1:${port}`], captured.io)).toBe(0);
    expect(captured.stdout()).toContain('\\u001b]0;PWNED');
    expectHarmless(captured.stdout());
  });
});

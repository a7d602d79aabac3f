// client.run() against a real rexecd: a command to its end with its output in memory,
// as execa and zx give it; the exit whatever its code, refusals as rejections, and a
// clear OUTPUT_LIMIT (the command killed) past maxBuffer.
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, RexecError } from '../../src/index.js';
import type { RexecClient } from '../../src/index.js';
import { rejection } from '../helpers/rejection.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { DEADLINE_MS } from '../helpers/raw-client.js';
import { within } from '../helpers/within.js';

let server: TestServer;
let client: RexecClient;

beforeAll(async () => {
  server = await startServer({ allowShell: true });
  client = await connect({ host: server.host, port: server.port, key: server.key });
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

describe('client.run()', () => {
  it('resolves with the output as text and the exit, whatever the code', async () => {
    const ok = await client.run(['sh', '-c', 'echo out; echo err >&2']);
    expect(ok).toMatchObject({
      stdout: 'out\n',
      stderr: 'err\n',
      code: 0,
      signal: null,
      timedOut: false,
      truncated: false,
    });
    expect(ok.stdoutBytes).toBe(4);
    const failed = await client.run(['sh', '-c', 'echo no >&2; exit 3']);
    expect(failed).toMatchObject({ stdout: '', stderr: 'no\n', code: 3 });
  });

  it("runs { command } with the server's shell, and takes exec()'s options", async () => {
    const result = await client.run({ command: 'echo "$GREETING" | tr a-z A-Z' }, { env: { GREETING: 'hi' } });
    expect(result.stdout).toBe('HI\n');
    const timed = await client.run(['sleep', '30'], { timeoutMs: 200 });
    expect(timed).toMatchObject({ timedOut: true, code: null });
  });

  it('feeds input (text, bytes or a stream), then end of file; gives bytes with encoding "buffer"', async () => {
    expect((await client.run(['cat'], { input: 'typed\n' })).stdout).toBe('typed\n');
    const binary = Buffer.from([0xff, 0x00, 0x41]);
    const bytes = await client.run(['cat'], { input: binary, encoding: 'buffer' });
    expect(Buffer.isBuffer(bytes.stdout)).toBe(true);
    expect(bytes.stdout.equals(binary)).toBe(true);
    expect(
      (
        await client.run(['wc', '-c'], { input: Readable.from([Buffer.alloc(70_000, 1), Buffer.alloc(30_000, 2)]) })
      ).stdout.trim(),
    ).toBe('100000');
    // Without input, stdin is closed at once: cat ends.
    expect((await client.run(['cat'])).stdout).toBe('');
  });

  it("rejects with the server's code when the command cannot run", async () => {
    expect((await rejection(client.run(['no-such-command-rexec']))).code).toBe('NOT_FOUND');
    expect((await rejection(client.run([]))).code).toBe('BAD_REQUEST');
  });

  it('past maxBuffer rejects with OUTPUT_LIMIT and kills the command; the connection goes on', async () => {
    const error = await rejection(within(client.run(['yes'], { maxBuffer: 100_000 }), 'run past maxBuffer'));
    expect(error.code).toBe('OUTPUT_LIMIT');
    expect(error.message).toContain('maxBuffer (100000 bytes)');
    await waitFor(() => server.server.runningCount === 0, 'the command to be killed');
    expect((await client.run(['echo', 'still here'])).stdout).toBe('still here\n');
    // Exactly at the limit is fine.
    expect((await client.run(['head', '-c', '1000', '/dev/zero'], { maxBuffer: 1000 })).stdoutBytes).toBe(1000);
  });

  it('an AbortSignal kills the command and rejects with its reason', async () => {
    const controller = new AbortController();
    const running = client.run(['sleep', '30'], { signal: controller.signal });
    await waitFor(() => server.server.runningCount === 1, 'sleep to start');
    controller.abort(new RexecError('CONNECTION_CLOSED', 'stopped by the test'));
    expect((await rejection(running)).message).toBe('stopped by the test');
    await waitFor(() => server.server.runningCount === 0, 'sleep to be killed');
    const already = AbortSignal.abort(new RexecError('CONNECTION_CLOSED', 'too late'));
    expect((await rejection(client.run(['true'], { signal: already }))).message).toBe('too late');
  });

  it('refuses bad options of its own by name', async () => {
    expect((await rejection(client.run(['true'], { maxBuffer: -1 }))).message).toContain('"maxBuffer"');
    expect((await rejection(client.run(['true'], { encoding: 'latin1' as 'utf8' }))).message).toContain('"encoding"');
  });
});

// The server's count of running commands has no event: looked at until it holds, within the deadline.
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// The client through a proxy that re-chunks the byte stream (one byte per write, random
// sizes, coalesced): the same results as a direct connection (docs/protocol.md section 1).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';
import { startRechunkProxy } from '../helpers/rechunk-proxy.js';
import type { RechunkMode } from '../helpers/rechunk-proxy.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { readAll } from '../helpers/streams.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const SIZES: Record<RechunkMode, number> = { 'one-byte': 20_000, random: 400_000, coalesce: 2_000_000 };

describe.each(Object.keys(SIZES) as RechunkMode[])('through a %s proxy', (mode) => {
  it('authenticates, and runs commands at once with exact output, stdin and exits', async () => {
    const size = SIZES[mode];
    const blob = randomBytes(size);
    await writeFile(join(server.root, `${mode}.bin`), blob);
    const proxy = await startRechunkProxy(server.port, mode, 7);
    const client = await connect({ host: '127.0.0.1', port: proxy.port, key: server.key });
    const cat = client.exec({ argv: ['cat', `${mode}.bin`] });
    const echo = client.exec({ argv: ['cat'], stdin: true });
    const input = randomBytes(Math.floor(size / 2));
    echo.stdin?.end(input);
    const failing = client.exec({ argv: ['sh', '-c', 'echo oops >&2; exit 4'] });
    const [catOut, echoOut, failingErr, catExit, echoExit, failingExit, rtt] = await Promise.all([
      readAll(cat.stdout),
      readAll(echo.stdout),
      readAll(failing.stderr),
      cat.exit,
      echo.exit,
      failing.exit,
      client.ping(),
    ]);
    expect(catOut.equals(blob)).toBe(true);
    expect(echoOut.equals(input)).toBe(true);
    expect(failingErr.toString()).toBe('oops\n');
    expect([catExit.code, echoExit.code, failingExit.code]).toEqual([0, 0, 4]);
    expect(rtt).toBeGreaterThanOrEqual(0);
    if (mode === 'one-byte') expect(proxy.writes()).toBeGreaterThan(size);
    await client.close();
    await proxy.close();
  });
});

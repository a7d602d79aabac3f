// `rexec ping`: version, auth result and round trip; 255 when it cannot reach the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rexec, serverEnv } from '../helpers/rexec-cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

describe('rexec ping', () => {
  it('prints the server version, the verified auth and the round trip', async () => {
    const result = await rexec(['ping'], serverEnv(server));
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.toString().split('\n');
    expect(lines[0]).toBe(
      `server: rexecd/${server.server.version} at ${server.host}:${server.port} (protocol 1, shell not allowed, files yes, terminal (-t) yes)`,
    );
    expect(lines[1]).toBe('auth: hmac-sha256, user "default": key accepted, server proof verified');
    expect(lines[2]).toMatch(/^round trip: \d+\.\d\d ms$/);
  });

  it('names the user given with -u', async () => {
    const carols = await startServer({ user: 'carol' });
    try {
      const result = await rexec(['ping', '-u', 'carol'], serverEnv(carols));
      expect(result.stdout.toString()).toContain('user "carol"');
    } finally {
      await carols.stop();
    }
  });

  it('says when the server does not authenticate', async () => {
    const open = await startServer({ noAuth: true });
    const result = await rexec(['ping'], serverEnv(open));
    expect(result.exitCode).toBe(0);
    expect(result.stdout.toString()).toContain('auth: none');
    await open.stop();
  });

  it('fails with 255 when nothing listens', async () => {
    const result = await rexec(['ping', '-H', '127.0.0.1', '-p', '1'], serverEnv(server));
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toMatch(/^rexec: cannot connect to 127\.0\.0\.1:1 \(connection refused\)/);
  });

  it('fails with 255 and the key file named when the key is wrong', async () => {
    const result = await rexec(['ping', '-k', '/dev/null'], serverEnv(server));
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toBe(
      "rexec: key file /dev/null is empty: copy the server's key file there, or give its path with -k\n",
    );
  });
});

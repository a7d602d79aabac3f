// `rexec conformance server`, in-process, against a real rexecd: every check passes (or
// is skipped for a reason the server's settings explain), whatever those settings are;
// and against servers that say nothing useful, every wait ends at its deadline.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/conformance/check.js';
import { runServerChecks } from '../../src/conformance/run-server-checks.js';
import type { ServerRunOptions } from '../../src/conformance/run-server-checks.js';
import { SERVER_CHECKS } from '../../src/conformance/server-checks/index.js';
import { RexecError } from '../../src/errors.js';
import { encodeFrameBuffer } from '../../src/protocol/frame-encoder.js';
import { startServer } from '../helpers/server.js';
import type { TestServer, TestServerOptions } from '../helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function checkRexecd(options: TestServerOptions, run: Partial<ServerRunOptions> = {}): Promise<CheckResult[]> {
  server = await startServer(options);
  const report = await runServerChecks({
    target: { host: server.host, port: server.port },
    key: server.key,
    graceMs: 500,
    ...run,
  });
  return [...report.results];
}

const ids = (results: readonly CheckResult[], status: CheckResult['status']): string[] =>
  results
    .filter((result) => result.status === status)
    .map((result) => result.id)
    .sort();

const failures = (results: readonly CheckResult[]): string[] =>
  results.filter((result) => result.status === 'fail').map((result) => `${result.id}: ${result.reason}`);

describe('conformance server against rexecd', () => {
  it('passes every check of a default server; those that need other settings are skipped, saying why', async () => {
    const results = await checkRexecd({});
    expect(failures(results)).toEqual([]);
    expect(results.map((result) => result.id)).toEqual(SERVER_CHECKS.map((check) => check.id));
    expect(ids(results, 'skip')).toEqual(['auth-timeout', 'idle-timeout', 'shell-command']);
    const reasons = Object.fromEntries(results.map((result) => [result.id, result.reason]));
    expect(reasons['shell-command']).toContain('hello.shell is false');
    expect(reasons['idle-timeout']).toContain('--idle-timeout');
    expect(reasons['auth-timeout']).toContain('--auth-timeout');
    for (const result of results) {
      expect(result.section).toMatch(/^[1-8](\.\d)?$/);
      expect(result.title).not.toBe('');
    }
  });

  it('with a shell, two commands per connection and short deadlines, runs (and passes) those checks too', async () => {
    const results = await checkRexecd(
      { allowShell: true, maxConcurrent: 2, idleTimeoutMs: 2_000, authTimeoutMs: 2_000 },
      { idleTimeoutMs: 2_000, authTimeoutMs: 2_000 },
    );
    expect(failures(results)).toEqual([]);
    expect(ids(results, 'skip')).toEqual(['command-needs-shell']);
    const status = Object.fromEntries(results.map((result) => [result.id, result.status]));
    expect(status).toMatchObject({
      'shell-command': 'pass',
      busy: 'pass',
      'precedence-duplicate-over-busy': 'pass',
      'idle-timeout': 'pass',
      'auth-timeout': 'pass',
    });
  });

  it('skips the BUSY checks, saying why, when the limit is too high to reach', async () => {
    const results = await checkRexecd({ maxConcurrent: 40 }, { only: ['busy', 'precedence-duplicate-over-busy'] });
    expect(results.map((result) => [result.id, result.status])).toEqual([
      ['busy', 'skip'],
      ['precedence-duplicate-over-busy', 'skip'],
    ]);
    expect(results[0]?.reason).toContain('maxConcurrent is 40');
  });

  it("skips the checks that need more output than the server's output cap allows", async () => {
    const results = await checkRexecd(
      { maxOutputBytes: 2 * 1024 * 1024 },
      { only: ['largest-body', 'large-output', 'slow-reader'] },
    );
    expect(results.map((result) => [result.id, result.status])).toEqual([
      ['largest-body', 'pass'],
      ['large-output', 'skip'],
      ['slow-reader', 'skip'],
    ]);
    expect(results[1]?.reason).toContain('exit.truncated is true');
  });

  it('skips the authentication checks of a server without auth, and passes the rest', async () => {
    const results = await checkRexecd({ noAuth: true }, { key: undefined });
    expect(failures(results)).toEqual([]);
    expect(ids(results, 'skip')).toEqual(
      [
        'auth-default-user',
        'auth-mutual-proof',
        'auth-required',
        'auth-short-cnonce',
        'auth-timeout',
        'auth-wrong-proof',
        'idle-timeout',
        'malformed-before-auth-header',
        'malformed-before-auth-length',
        'shell-command',
      ].sort(),
    );
  });

  it('runs only the checks named, by id or by prefix, in suite order', async () => {
    const results = await checkRexecd({}, { only: ['ping-pong', 'malformed-header'] });
    expect(results.map((result) => result.id)).toEqual([
      'ping-pong',
      'malformed-header-length-zero',
      'malformed-header-too-large',
      'malformed-header-not-json',
      'malformed-header-not-object',
      'malformed-header-invalid-utf8',
      'malformed-header-no-type',
      'malformed-header-type-not-string',
      'malformed-header-trailing-garbage',
    ]);
    expect(ids(results, 'pass')).toHaveLength(9);
  });
});

describe('conformance server setup errors', () => {
  it('refuses an unknown check name, a missing key and a port where nothing listens', async () => {
    server = await startServer();
    const target = { host: server.host, port: server.port };
    await expect(runServerChecks({ target, key: server.key, only: ['no-such-check'] })).rejects.toMatchObject({
      code: 'CONFIG',
    });
    await expect(runServerChecks({ target })).rejects.toMatchObject({ code: 'KEY_FILE' });
    const closed = await listen(() => undefined);
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await runServerChecks({ target: { host: '127.0.0.1', port } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RexecError);
    expect(refused).toMatchObject({ code: 'CONNECT_FAILED' });
  });
});

describe('conformance server against servers that break everything', () => {
  const sockets = new Set<Socket>();
  let fake: Server | undefined;
  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => (fake === undefined ? resolve(undefined) : fake.close(resolve)));
    fake = undefined;
  });

  async function fakeServer(onConnection: (socket: Socket) => void): Promise<{ host: string; port: number }> {
    fake = await listen((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      onConnection(socket);
    });
    return { host: '127.0.0.1', port: (fake.address() as AddressInfo).port };
  }

  it('fails the hello check and skips the rest when the first bytes are not a hello', async () => {
    const target = await fakeServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    const results = (await runServerChecks({ target, waitMs: 2_000 })).results;
    expect(results.find((result) => result.id === 'hello')).toMatchObject({ status: 'fail' });
    expect(results.find((result) => result.id === 'hello')?.reason).toContain('not a valid frame stream');
    expect(ids(results, 'skip')).toHaveLength(SERVER_CHECKS.length - 1);
  });

  it('ends every check at its deadline against a server that says hello and then nothing', async () => {
    const target = await fakeServer((socket) =>
      socket.write(
        encodeFrameBuffer({
          type: 'hello',
          protocol: 1,
          server: 'silent',
          auth: 'none',
          nonce: randomBytes(32).toString('base64'),
          shell: true,
          limits: { maxHeader: 65536, maxBody: 1048576, maxConcurrent: 2 },
        }),
      ),
    );
    const report = await runServerChecks({ target, waitMs: 300, idleTimeoutMs: 300, authTimeoutMs: 300 });
    const passed = ids(report.results, 'pass');
    // A silent server breaks no rule of these: it never closes, never answers out of turn.
    expect(passed).toEqual(['hello', 'hello-fresh-nonce']);
    expect(ids(report.results, 'fail').length).toBeGreaterThan(50);
    for (const result of report.results.filter((r) => r.status === 'fail'))
      expect(result.reason).toMatch(/within \d+ ms/);
  });
});

function listen(onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

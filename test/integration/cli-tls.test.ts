// `rexec` over TLS, in-process against real TLS servers: trust on first use with the
// known_hosts file under XDG_CONFIG_HOME (a temporary directory here), a changed
// certificate refused with what to do, nothing recorded for a server that fails
// authentication, host names in lower case, --fingerprint, --ca, mutual TLS, and the
// hints for TLS on one side only.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec/main.js';
import { captureIo } from '../helpers/capture-io.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { certDir, clientCert, makeCa, serverCert } from '../helpers/tls.js';
import type { CertPair } from '../helpers/tls.js';

let dir: { dir: string; remove: () => Promise<void> };
let cert: CertPair;
let other: CertPair;
let ca: CertPair;
let alice: CertPair;
let server: TestServer;
let otherServer: TestServer;
let mutualServer: TestServer;
let plainServer: TestServer;
let config: string;
const savedXdg = process.env['XDG_CONFIG_HOME'];

beforeAll(async () => {
  dir = await certDir();
  cert = await serverCert(join(dir.dir, 'a'));
  other = await serverCert(join(dir.dir, 'b'));
  ca = await makeCa(dir.dir, 'site-ca');
  alice = await clientCert(dir.dir, ca, 'alice');
  server = await startServer({ tls: { cert: cert.cert, key: cert.key, handshakeTimeoutMs: 500 } });
  otherServer = await startServer({ tls: { cert: other.cert, key: other.key } });
  mutualServer = await startServer({ tls: { cert: cert.cert, key: cert.key, clientCa: ca.cert } });
  plainServer = await startServer();
});
afterAll(async () => {
  await Promise.all([server, otherServer, mutualServer, plainServer].map((each) => each?.stop()));
  await dir.remove();
});

// Every test gets its own empty configuration directory.
beforeEach(async () => {
  config = await mkdtemp(join(tmpdir(), 'rexec-xdg-'));
  process.env['XDG_CONFIG_HOME'] = config;
});
afterEach(async () => {
  if (savedXdg === undefined) delete process.env['XDG_CONFIG_HOME'];
  else process.env['XDG_CONFIG_HOME'] = savedXdg;
  await rm(config, { recursive: true, force: true });
});

async function rexec(
  target: TestServer,
  args: readonly string[],
): Promise<{ status: number; stdout: string; stderr: string }> {
  const captured = captureIo();
  const status = await main(['-p', String(target.port), '-k', target.keyFile, ...args], captured.io);
  return { status, stdout: captured.stdout(), stderr: captured.stderr() };
}

const knownHosts = (): string => join(config, 'rexec', 'known_hosts');

describe('trust on first use', () => {
  it('prints and records the certificate on first use, then connects quietly', async () => {
    const first = await rexec(server, ['--tls', 'run', '--', 'echo', 'hi']);
    expect(first).toMatchObject({ status: 0, stdout: 'hi\n' });
    expect(first.stderr).toContain(
      `rexec: first TLS connection to 127.0.0.1:${server.port}: its certificate is ${cert.fingerprint}`,
    );
    expect(first.stderr).toContain(`recorded in ${knownHosts()}`);
    expect(await readFile(knownHosts(), 'utf8')).toBe(`127.0.0.1:${server.port} ${cert.fingerprint}\n`);

    const second = await rexec(server, ['--tls', 'run', '--', 'echo', 'again']);
    expect(second).toEqual({ status: 0, stdout: 'again\n', stderr: '' });
  });

  it('refuses a changed certificate, saying which file and line to check and reset', async () => {
    await mkdir(join(config, 'rexec'));
    await writeFile(knownHosts(), `# hosts\n127.0.0.1:${otherServer.port} ${cert.fingerprint}\n`);
    const marker = join(otherServer.root, 'ran');
    const result = await rexec(otherServer, ['--tls', 'run', '--', 'touch', marker]);
    expect(result.status).toBe(255);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`the TLS certificate of 127.0.0.1:${otherServer.port} has CHANGED`);
    expect(result.stderr).toContain(`recorded: ${cert.fingerprint} (${knownHosts()}, line 2)`);
    expect(result.stderr).toContain(`offered:  ${other.fingerprint}`);
    expect(result.stderr).toContain('rexecd tls-fingerprint');
    expect(result.stderr).toContain(`delete line 2 of ${knownHosts()}`);
    expect(existsSync(marker)).toBe(false);
    // Nothing was recorded over the old line.
    expect(await readFile(knownHosts(), 'utf8')).toBe(`# hosts\n127.0.0.1:${otherServer.port} ${cert.fingerprint}\n`);
  });
});

describe('trust on first use, only for a server that authenticates', () => {
  it('records nothing, and tells of no first use, when authentication fails', async () => {
    const wrongKey = join(config, 'wrong-key');
    await writeFile(wrongKey, 'not the server key\n', { mode: 0o600 });
    const captured = captureIo();
    const status = await main(
      ['-p', String(server.port), '-k', wrongKey, '--tls', 'run', '--', 'echo', 'no'],
      captured.io,
    );
    expect(status).toBe(255);
    expect(captured.stderr()).toContain('authentication failed');
    expect(captured.stderr()).not.toContain('first TLS connection');
    expect(existsSync(knownHosts())).toBe(false);
    // With the key, the same certificate is recorded, after the server proved it has it.
    const right = await rexec(server, ['--tls', 'run', '--', 'echo', 'yes']);
    expect(right).toMatchObject({ status: 0, stdout: 'yes\n' });
    expect(right.stderr).toContain(`first TLS connection to 127.0.0.1:${server.port}`);
    expect(await readFile(knownHosts(), 'utf8')).toBe(`127.0.0.1:${server.port} ${cert.fingerprint}\n`);
  });

  it('records a host name in lower case: LOCALHOST and localhost are one entry', async () => {
    const upper = await rexec(server, ['-H', 'LOCALHOST', '--tls', 'run', '--', 'echo', 'upper']);
    expect(upper).toMatchObject({ status: 0, stdout: 'upper\n' });
    expect(upper.stderr).toContain(`first TLS connection to localhost:${server.port}`);
    expect(await readFile(knownHosts(), 'utf8')).toBe(`localhost:${server.port} ${cert.fingerprint}\n`);
    const lower = await rexec(server, ['-H', 'localhost', '--tls', 'run', '--', 'echo', 'lower']);
    expect(lower).toEqual({ status: 0, stdout: 'lower\n', stderr: '' });
  });
});

describe('other ways to check the server', () => {
  it('--fingerprint pins the certificate, without known_hosts', async () => {
    const right = await rexec(server, ['--fingerprint', cert.fingerprint, 'run', '--', 'echo', 'pinned']);
    expect(right).toEqual({ status: 0, stdout: 'pinned\n', stderr: '' });
    const wrong = await rexec(server, ['run', '--fingerprint', other.fingerprint, '--', 'echo', 'no']);
    expect(wrong.status).toBe(255);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr).toContain(`not the pinned ${other.fingerprint}`);
    expect(existsSync(knownHosts())).toBe(false);
  });

  it('--ca verifies the chain and the name', async () => {
    const right = await rexec(server, ['-H', 'localhost', '--ca', cert.certFile, 'run', '--', 'echo', 'ca']);
    expect(right).toEqual({ status: 0, stdout: 'ca\n', stderr: '' });
    const wrong = await rexec(server, ['--ca', other.certFile, 'run', '--', 'echo', 'no']);
    expect(wrong.status).toBe(255);
    expect(wrong.stderr).toContain(`the TLS certificate of 127.0.0.1:${server.port} is not trusted`);
    const missing = await rexec(server, ['--ca', join(dir.dir, 'nope.pem'), 'ping']);
    expect(missing.status).toBe(255);
    expect(missing.stderr).toContain(`--ca ${join(dir.dir, 'nope.pem')}: no such file`);
  });

  it('--tls-cert and --tls-key for a server that requires client certificates', async () => {
    const withCert = await rexec(mutualServer, [
      '--ca',
      cert.certFile,
      '--tls-cert',
      alice.certFile,
      '--tls-key',
      alice.keyFile,
      'run',
      '--',
      'echo',
      'm',
    ]);
    expect(withCert).toEqual({ status: 0, stdout: 'm\n', stderr: '' });
    const without = await rexec(mutualServer, ['--ca', cert.certFile, 'run', '--', 'echo', 'no']);
    expect(without.status).toBe(255);
    expect(without.stderr).toContain('requires a client certificate');
  });
});

describe('TLS on one side only', () => {
  it('a plain client of a TLS server is told to add --tls', async () => {
    const result = await rexec(server, ['run', '--', 'echo', 'no']);
    expect(result.status).toBe(255);
    expect(result.stderr).toContain('(if the server uses TLS, add --tls)');
  });

  it('a plain client of a TLS server that waits for the client says so within 2 s, not after the connect timeout', async () => {
    // otherServer keeps the default TLS handshake deadline (10 s): only the client's
    // greeting watch can end this early.
    const result = await rexec(otherServer, ['run', '--', 'echo', 'no']);
    expect(result).toEqual({
      status: 255,
      stdout: '',
      stderr: `rexec: no rexec greeting: if the server uses TLS, add --tls (127.0.0.1:${otherServer.port}: it said nothing)\n`,
    });
  });

  it('a TLS client of a plain server is told it does not speak TLS', async () => {
    const result = await rexec(plainServer, ['--tls', 'run', '--', 'echo', 'no']);
    expect(result.status).toBe(255);
    expect(result.stderr).toContain('does not speak TLS');
    expect(existsSync(knownHosts())).toBe(false);
  });
});

// The built programs over TLS: `rexecd tls-init` makes the certificate, `rexecd
// --tls-cert/--tls-key` serves it, `rexec --tls` trusts it on first use (known_hosts
// under a temporary XDG_CONFIG_HOME) and later connects quietly; `rexec run` over a
// config group exits with the highest status as a process.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REXECD, startDaemon } from '../helpers/daemon.js';
import type { Daemon } from '../helpers/daemon.js';
import { waitUntil } from '../helpers/raw-client.js';
import { rexec } from '../helpers/rexec-cli.js';

let dir: string;
let daemon: Daemon;
let fingerprint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexec-e2e-tls-'));
});
afterAll(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('rexecd tls-init, then a TLS session', () => {
  it('makes a certificate and a private key, and prints the fingerprint', async () => {
    const result = await execa(
      process.execPath,
      [REXECD, 'tls-init', join(dir, 'tls'), '--name', 'localhost', '--name', '127.0.0.1'],
      {
        reject: false,
      },
    );
    expect(result.exitCode).toBe(0);
    const match = /^fingerprint: (sha256:[0-9A-F:]{95})$/m.exec(result.stdout);
    expect(match).not.toBeNull();
    fingerprint = match![1] as string;
    expect((await stat(join(dir, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);
    const printed = await execa(process.execPath, [REXECD, 'tls-fingerprint', join(dir, 'tls', 'cert.pem')]);
    expect(printed.stdout).toBe(fingerprint);
    const again = await execa(process.execPath, [REXECD, 'tls-init', join(dir, 'tls')], { reject: false });
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('already exists (use --force to replace it)');
  });

  it('serves TLS, and the client trusts the certificate on first use', async () => {
    daemon = await startDaemon(['--tls-cert', join(dir, 'tls', 'cert.pem'), '--tls-key', join(dir, 'tls', 'key.pem')]);
    await waitUntil(() => daemon.stderr().includes(`tls=${fingerprint}`), 'the fingerprint in the start-up log');
    const env = { REXEC_PORT: String(daemon.port), REXEC_KEY_FILE: daemon.keyFile, XDG_CONFIG_HOME: join(dir, 'xdg') };
    const first = await rexec(['--tls', 'run', '--', 'echo', 'over tls'], env);
    expect(first.exitCode).toBe(0);
    expect(first.stdout.toString()).toBe('over tls\n');
    expect(first.stderr.toString()).toContain(`its certificate is ${fingerprint}`);
    expect(await readFile(join(dir, 'xdg', 'rexec', 'known_hosts'), 'utf8')).toBe(
      `127.0.0.1:${daemon.port} ${fingerprint}\n`,
    );
    const second = await rexec(['--tls', 'run', '--', 'echo', 'again'], env);
    expect(second.exitCode).toBe(0);
    expect(second.stderr.toString()).toBe('');
  });

  it('refuses to start with a certificate but no key', async () => {
    const result = await execa(process.execPath, [REXECD, '--port', '0', '--tls-cert', join(dir, 'tls', 'cert.pem')], {
      reject: false,
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('--tls-cert and --tls-key go together');
  });
});

describe('rexec run on a group, as a process', () => {
  it('exits 255 when one host is down, after the others ran', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    const closed = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        hosts: {
          up: { host: '127.0.0.1', port: daemon.port, keyFile: daemon.keyFile, tls: { fingerprint } },
          down: { host: '127.0.0.1', port: closed },
        },
        groups: { site: ['up', 'down'] },
      }),
    );
    const result = await rexec(['--config', config, 'run', 'site', '--', 'echo', 'hello'], {
      XDG_CONFIG_HOME: join(dir, 'xdg'),
    });
    expect(result.exitCode).toBe(255);
    expect(result.stdout.toString()).toBe('up: hello\n');
    expect(result.stderr.toString()).toContain('rexec: 2 hosts: 1 ok, 1 failed\n');
    expect(result.stderr.toString()).toContain('rexec:   unreachable (255): down\n');
  });
});

// The rexecd program as a process: its one stdout line, key files, flags, and a clean
// exit 0 on SIGTERM/SIGINT (docs/protocol.md section 6).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REXECD, startDaemon } from '../helpers/daemon.js';
import { RawClient, summarize } from '../helpers/raw-client.js';
import { within } from '../helpers/within.js';

describe('rexecd', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rexecd-e2e-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints one line, serves, and exits 0 at once on SIGTERM when idle', async () => {
    const daemon = await startDaemon();
    const client = await RawClient.ready(daemon.port, daemon.key);
    const result = await client.run(1, { argv: ['echo', 'served'] });
    expect(result.stdout.toString()).toBe('served\n');
    client.close();
    expect(await daemon.stop('SIGTERM')).toBe(0);
  });

  it('on SIGINT drains: the running command finishes and its exit is sent, then exit 0', async () => {
    const daemon = await startDaemon(['--grace', '10000']);
    const client = await RawClient.ready(daemon.port, daemon.key);
    client.send({ type: 'exec', id: 1, argv: ['sh', '-c', 'sleep 0.5; echo done'] });
    await client.next('started', 1);
    const stopped = daemon.stop('SIGINT');
    const result = summarize(await client.collect(1));
    expect(result.stdout.toString()).toBe('done\n');
    expect(result.exit).toMatchObject({ code: 0 });
    await client.waitClosed();
    expect(await stopped).toBe(0);
  });

  it('on SIGINT with nothing running exits at once, though a client keeps its socket open', async () => {
    const daemon = await startDaemon();
    // A client that never closes its side (half-open allowed, nothing sent after auth),
    // as a script holding a socket does: the drain must not wait for it.
    const client = await RawClient.ready(daemon.port, daemon.key);
    client.socket.allowHalfOpen = true;
    const sawEnd = new Promise<void>((resolve) => client.socket.once('end', () => resolve()));
    const stopped = daemon.stop('SIGINT');
    await sawEnd;
    // Deadline, not a measurement: it waited out a 5 s flush timer before, which this
    // deadline is well below; once idle it takes a few milliseconds.
    const status = await within(stopped, 'rexecd to exit after SIGINT', 3_000);
    expect(status).toBe(0);
    expect(client.socket.writableEnded).toBe(false);
    client.close();
  });

  it("--path sets the commands' PATH and where argv[0] is looked up", async () => {
    const daemon = await startDaemon(['--path', '/bin:/usr/bin']);
    const client = await RawClient.ready(daemon.port, daemon.key);
    const result = await client.run(1, { argv: ['sh', '-c', 'echo "$PATH"'] });
    expect(result.stdout.toString()).toBe('/bin:/usr/bin\n');
    client.close();
    expect(await daemon.stop()).toBe(0);
  });

  it('goes on serving when its log pipe closes, and still exits 0 on SIGTERM', async () => {
    // Once, the first log line after the reader of stderr went away (`rexecd 2>&1 | head`,
    // a supervisor that died) raised EPIPE, which rexecd took for an internal error: it
    // refused every command, and logging that failure failed again, for ever, at 70% of
    // a core, with no way out but SIGKILL.
    const daemon = await startDaemon();
    try {
      daemon.process.stderr?.destroy();
      for (let id = 1; id <= 3; id += 1) {
        // Each connection writes log lines (connected, authenticated, exec, exit).
        const client = await RawClient.ready(daemon.port, daemon.key);
        const result = await client.run(id, { argv: ['echo', 'still serving'] });
        client.close();
        expect(result.error).toBeUndefined();
        expect(result.stdout.toString()).toBe('still serving\n');
      }
      expect(await within(daemon.stop('SIGTERM'), 'rexecd to exit on SIGTERM')).toBe(0);
    } finally {
      // It spun for ever before: never leave it behind, whatever failed above.
      daemon.process.kill('SIGKILL');
    }
  });

  it('creates a missing key file with mode 0600 and 64 hex characters', async () => {
    const keyFile = join(dir, 'new', 'key');
    const daemon = await startDaemon(['--key-file', keyFile]);
    try {
      const text = await readFile(keyFile, 'utf8');
      expect(text.trim()).toMatch(/^[0-9a-f]{64}$/);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const client = await RawClient.ready(daemon.port, text);
      client.close();
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('keygen writes a 0600 key and refuses to replace one without --force', async () => {
    const keyFile = join(dir, 'keygen-key');
    const first = spawnSync(process.execPath, [REXECD, 'keygen', keyFile], { encoding: 'utf8' });
    expect(first.status).toBe(0);
    const key = (await readFile(keyFile, 'utf8')).trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const again = spawnSync(process.execPath, [REXECD, 'keygen', keyFile], { encoding: 'utf8' });
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain('already exists');
    expect((await readFile(keyFile, 'utf8')).trim()).toBe(key);
    const forced = spawnSync(process.execPath, [REXECD, 'keygen', '--force', keyFile], { encoding: 'utf8' });
    expect(forced.status).toBe(0);
    expect((await readFile(keyFile, 'utf8')).trim()).not.toBe(key);
  });

  it('refuses --no-auth on an address that is not loopback', () => {
    const result = spawnSync(process.execPath, [REXECD, '--no-auth', '--host', '0.0.0.0', '--port', '0'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--no-auth is only allowed on a loopback address');
  });

  it('rejects a bad flag value with a message naming it', () => {
    const result = spawnSync(process.execPath, [REXECD, '--port', 'seventy'], { encoding: 'utf8', timeout: 20_000 });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('--port');
  });

  it('reports a root that does not exist', () => {
    const result = spawnSync(
      process.execPath,
      [REXECD, '--port', '0', '--root', join(dir, 'missing'), '--key-file', join(dir, 'k')],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing');
  });
});

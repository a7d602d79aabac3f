// A key that others can read is a key others can use: like ssh, both programs refuse a
// key file (and a users file that holds keys) open to the group or to everyone, and
// say how to fix it. What rexecd writes itself is never open to others.
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyText, readKeyFile } from '../../src/common/key-file.js';
import { RexecError } from '../../src/errors.js';
import { REXECD } from '../helpers/daemon.js';
import { rexec } from '../helpers/rexec-cli.js';
import { rejection } from '../helpers/rejection.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const OPEN_MODES = [0o644, 0o640, 0o604, 0o620, 0o602];

describe('key files open to others', () => {
  let dir: string;
  let server: TestServer;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-keyperm-')));
    server = await startServer();
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('readKeyFile refuses every mode with a bit for group or others, naming the fix', async () => {
    const path = join(dir, 'open.key');
    await writeFile(path, `${generateKeyText()}\n`);
    for (const mode of OPEN_MODES) {
      await chmod(path, mode);
      const error = await rejection(readKeyFile(path));
      expect(error).toBeInstanceOf(RexecError);
      expect(error.code).toBe('KEY_FILE');
      expect(error.message).toContain(`chmod 600 ${path}`);
    }
    await chmod(path, 0o600);
    expect(await readKeyFile(path)).toHaveLength(64);
    await chmod(path, 0o400);
    expect(await readKeyFile(path)).toHaveLength(64);
  });

  it('rexec refuses a world-readable key and connects with the same key once it is 0600', async () => {
    const path = join(dir, 'client.key');
    await writeFile(path, `${server.key}\n`);
    await chmod(path, 0o644);
    const env = { REXEC_HOST: server.host, REXEC_PORT: String(server.port), REXEC_KEY_FILE: path };
    const refused = await rexec(['run', '--', 'true'], env);
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr.toString()).toContain(`chmod 600 ${path}`);
    await chmod(path, 0o600);
    expect((await rexec(['run', '--', 'true'], env)).exitCode).toBe(0);
  });

  it('rexecd refuses to start with a group-readable key file', async () => {
    const path = join(dir, 'server.key');
    await writeFile(path, `${generateKeyText()}\n`);
    await chmod(path, 0o640);
    const result = spawnSync(process.execPath, [REXECD, '--port', '0', '--key-file', path, '--root', dir], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`chmod 600 ${path}`);
    expect(result.stdout).toBe('');
  });

  it('rexecd refuses a users file with keys in it that others can read, and a keyFile entry open to others', async () => {
    const users = join(dir, 'users.json');
    await writeFile(users, JSON.stringify({ users: { alice: { key: generateKeyText() } } }));
    await chmod(users, 0o644);
    const inline = spawnSync(process.execPath, [REXECD, '--port', '0', '--users', users, '--root', dir], {
      encoding: 'utf8',
    });
    expect(inline.status).toBe(1);
    expect(inline.stderr).toContain(`chmod 600 ${users}`);
    // A users file without keys in it may be readable: the keys are in their own files.
    const bobKey = join(dir, 'bob.key');
    await writeFile(bobKey, `${generateKeyText()}\n`);
    await chmod(bobKey, 0o644);
    await writeFile(users, JSON.stringify({ users: { bob: { keyFile: bobKey } } }));
    const separate = spawnSync(process.execPath, [REXECD, '--port', '0', '--users', users, '--root', dir], {
      encoding: 'utf8',
    });
    expect(separate.status).toBe(1);
    expect(separate.stderr).toContain(`chmod 600 ${bobKey}`);
  });

  it('keygen and adduser (key only) write keys closed to others, even under umask 000', async () => {
    // Run under a umask that opens everything: the programs must set the modes themselves.
    const laxly = (args: string[]) =>
      spawnSync('/bin/sh', ['-c', 'umask 000; exec "$@"', 'sh', process.execPath, REXECD, ...args], {
        encoding: 'utf8',
      });
    const keyPath = join(dir, 'new', 'key');
    expect(laxly(['keygen', keyPath]).status).toBe(0);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    const users = join(dir, 'added', 'users.json');
    await mkdir(join(dir, 'added'));
    expect(laxly(['adduser', 'carol', '--users', users, '--no-account']).status).toBe(0);
    const written = JSON.parse(await readFile(users, 'utf8')) as { users: { carol: { keyFile?: string } } };
    const entry = written.users.carol;
    const files = [users, ...(entry.keyFile === undefined ? [] : [resolve(dirname(users), entry.keyFile)])];
    expect(files).toHaveLength(2);
    for (const file of files) expect((await stat(file)).mode & 0o077).toBe(0);
  });
});

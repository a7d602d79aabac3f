// `rexecd adduser NAME`: as root, the user's own Linux account, jail (= HOME) and key;
// otherwise exactly what to run as root, with nothing changed. A name that is not a safe
// account name never reaches useradd. Accounts made here are named rxt-... and removed.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUserCommand } from '../../src/cli/rexecd/adduser-command.js';
import type { AddUserFlags } from '../../src/cli/rexecd/adduser-command.js';
import { createServer } from '../../src/server/index.js';
import { REXECD } from '../helpers/daemon.js';
import { RawClient } from '../helpers/raw-client.js';
import { IS_ROOT } from '../helpers/lab.js';
import {
  accountExists,
  accountPrefix,
  gidOf,
  leftoverAccounts,
  removeAccounts,
  uidOf,
} from '../helpers/lab-accounts.js';

let dir: string;
beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'rexec-adduser-')));
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function flags(extra: Partial<AddUserFlags> = {}): AddUserFlags {
  return {
    users: join(dir, 'etc', 'users.json'),
    host: 'lab.example',
    port: '7077',
    force: false,
    account: true,
    ...extra,
  };
}

describe('adduser without root', () => {
  it('changes nothing and prints exactly the commands and the users-file entry', async () => {
    const labs = join(dir, 'printed labs');
    let text = '';
    await addUserCommand('carol', flags({ labsDir: labs, readers: 'teacher' }), (t) => (text += t), false);
    const usersFile = join(dir, 'etc', 'users.json');
    expect(text).toBe(
      'not running as root: nothing was changed. To add carol, run as root:\n' +
        `  useradd --home-dir '${labs}/carol' --no-create-home --shell /usr/sbin/nologin --user-group carol\n` +
        `  install -d -m 0755 '${labs}'\n` +
        `  install -d -o carol -g teacher -m 2750 '${labs}/carol'\n` +
        `  rexecd keygen ${dir}/etc/keys/carol.key\n` +
        `and add this entry to "users" in ${usersFile}:\n` +
        `  "carol": {"keyFile":"keys/carol.key","root":"${labs}/carol","runAs":{"user":"carol"}}\n` +
        '(this same rexecd adduser command, run as root, does all of it)\n',
    );
    expect(existsSync(labs)).toBe(false);
    expect(existsSync(join(dir, 'etc'))).toBe(false);
    expect(accountExists('carol')).toBe(false);
  });

  it('a jail only the user reads is 0700 with their own group', async () => {
    let text = '';
    await addUserCommand('dave', flags({ labsDir: '/srv/rexec' }), (t) => (text += t), false);
    expect(text).toContain('  install -d -o dave -g dave -m 0700 /srv/rexec/dave\n');
  });
});

describe('adduser refuses names that are not safe account names, before anything is made', () => {
  const bad = ['-o', '--help', 'Alice', 'a b', '../x', 'x/y', 'root;id', '1abc', 'a'.repeat(33), '', 'é'];
  it.each(bad)('%j', async (name) => {
    const before = readFileSync('/etc/passwd', 'utf8');
    await expect(addUserCommand(name, flags(), () => undefined, IS_ROOT)).rejects.toThrow(
      /not a safe Linux account name|must be 1-64/,
    );
    expect(readFileSync('/etc/passwd', 'utf8')).toBe(before);
    expect(existsSync(join(dir, 'etc'))).toBe(false);
  });

  it('and a readers group that is not a safe name', async () => {
    await expect(addUserCommand('erin', flags({ readers: '-g0' }), () => undefined, false)).rejects.toThrow(
      /readers group "-g0"/,
    );
  });

  it('--no-account keeps the old entry (a key only), and refuses account options', async () => {
    await expect(
      addUserCommand('frank', flags({ account: false, readers: 'x' }), () => undefined, false),
    ).rejects.toThrow(/--no-account/);
  });
});

describe.runIf(IS_ROOT)('adduser as root (real accounts)', () => {
  const prefix = accountPrefix();
  const labs = (): string => join(dir, 'labs');
  const usersFile = (): string => join(dir, 'root-etc', 'users.json');
  const adduser = (name: string, ...extra: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(
      process.execPath,
      [REXECD, 'adduser', name, '--users', usersFile(), '--labs-dir', labs(), '--host', 'lab.example', ...extra],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
  afterAll(() => {
    removeAccounts(prefix);
    expect(leftoverAccounts(prefix)).toEqual([]);
  });

  it('makes the account, its private jail (its HOME), a 0600 key and the entry', async () => {
    const name = `${prefix}t`;
    const result = adduser(name);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(String(result.stdout)).toContain(`created the account ${name} and its jail ${labs()}/${name}`);
    expect(String(result.stdout)).toContain(`rexec -H lab.example -p 7077 -u ${name} -k`);
    const entry = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim().split(':');
    expect(entry[5]).toBe(join(labs(), name));
    expect(entry[6]).toBe('/usr/sbin/nologin');
    const jail = await stat(join(labs(), name));
    expect({ uid: jail.uid, gid: jail.gid, mode: jail.mode & 0o7777 }).toEqual({
      uid: uidOf(name),
      gid: gidOf(name),
      mode: 0o700,
    });
    expect((await stat(labs())).mode & 0o777).toBe(0o755);
    const keyFile = join(dir, 'root-etc', 'keys', `${name}.key`);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(usersFile())).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(usersFile(), 'utf8'))).toEqual({
      users: { [name]: { keyFile: `keys/${name}.key`, root: join(labs(), name), runAs: { user: name } } },
    });
  });

  it('with --readers the jail is 2750 with that group (the teacher reads, cannot write)', async () => {
    const name = `${prefix}s`;
    const result = adduser(name, '--readers', `${prefix}t`);
    expect(result.status).toBe(0);
    const jail = await stat(join(labs(), name));
    expect({ uid: jail.uid, gid: jail.gid, mode: jail.mode & 0o7777 }).toEqual({
      uid: uidOf(name),
      gid: gidOf(`${prefix}t`),
      mode: 0o2750,
    });
  });

  it('HOME is the jail without the sandbox too, and other jails are closed by their modes', async () => {
    const policyFile = join(dir, 'root-etc', 'lab.json');
    await writeFile(
      policyFile,
      JSON.stringify({ root: labs(), allow: '*', runAs: { user: 'nobody' }, sandbox: 'none' }),
    );
    const server = createServer({
      auth: { mode: 'hmac-sha256', keys: new Map() },
      port: 0,
      policyFile,
      usersFile: usersFile(),
    });
    const { port } = await server.listen();
    try {
      const key = (name: string): string => readFileSync(join(dir, 'root-etc', 'keys', `${name}.key`), 'utf8').trim();
      const student = await RawClient.ready(port, key(`${prefix}s`), `${prefix}s`);
      const home = await student.run(1, { argv: ['sh', '-c', 'echo "$HOME"; id -un; touch ~/mine && echo wrote'] });
      expect(home.stdout.toString()).toBe(`${join(labs(), `${prefix}s`)}\n${prefix}s\nwrote\n`);
      // The teacher's jail is 0700: the student can neither list nor write it.
      const other = await student.run(2, {
        argv: [
          'sh',
          '-c',
          `ls ${join(labs(), `${prefix}t`)} || touch ${join(labs(), `${prefix}t`, 'x')} || echo refused`,
        ],
      });
      expect(other.stdout.toString()).toBe('refused\n');
      student.close();
    } finally {
      await server.shutdown();
    }
  });

  it('does not take over an existing account or directory, and says why', async () => {
    const taken = adduser('nobody');
    expect(taken.status).toBe(1);
    expect(String(taken.stderr)).toMatch(/a local account "nobody" already exists with the home \/nonexistent/);
    await mkdir(join(labs(), `${prefix}x`));
    const occupied = adduser(`${prefix}x`);
    expect(occupied.status).toBe(1);
    expect(String(occupied.stderr)).toContain(`is not ${prefix}x's directory`);
    expect(accountExists(`${prefix}x`)).toBe(false);
    const written = JSON.parse(await readFile(usersFile(), 'utf8')) as { users: Record<string, unknown> };
    expect(written.users[`${prefix}x`]).toBeUndefined();
  });

  it('refuses a user already in the users file unless --force (new key, same account)', async () => {
    const name = `${prefix}t`;
    const again = adduser(name);
    expect(again.status).toBe(1);
    expect(String(again.stderr)).toContain(`already has a user "${name}"`);
    const keyFile = join(dir, 'root-etc', 'keys', `${name}.key`);
    const old = await readFile(keyFile, 'utf8');
    const forced = adduser(name, '--force');
    expect(forced.status).toBe(0);
    expect(await readFile(keyFile, 'utf8')).not.toBe(old);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
  });
});

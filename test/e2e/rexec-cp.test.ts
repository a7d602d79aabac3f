// `rexec cp` and the shell's put/get as processes (bin/rexec.js, `npm run build` first):
// both directions, -r, -f, -p, "-", exit statuses, the progress line on a terminal
// (a pseudo-terminal from util-linux `script`) and none when piped (the summary with -v);
// modes under a umask, `..` sources, a hostile server's listing, Ctrl-C on an open
// stdin, a failing stdout; several hosts at once (-H a,b, a group, -x).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers, sha256 } from '../helpers/files.js';
import { startFakeServer } from '../helpers/fake-server.js';
import { waitUntil } from '../helpers/raw-client.js';
import { REXEC_BIN, rexec, serverEnv } from '../helpers/rexec-cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { within } from '../helpers/within.js';
import { freePort } from '../helpers/free-port.js';

let server: TestServer;
let env: Record<string, string>;
let local: string;

beforeAll(async () => {
  server = await startServer();
  env = serverEnv(server);
  local = await realpath(await mkdtemp(join(tmpdir(), 'rexec-cp-local-')));
});
afterAll(async () => {
  await server.stop();
  await rm(local, { recursive: true, force: true });
});

async function localFile(name: string, content: Buffer | string, mode?: number): Promise<string> {
  const path = join(local, name);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  if (mode !== undefined) await chmod(path, mode);
  return path;
}

/** Every file below `dir` as "relative path: sha256". */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile());
  return Promise.all(
    files.map(async (entry) => {
      const path = join(entry.parentPath ?? entry.path, entry.name);
      return `${path.slice(dir.length + 1)}: ${sha256(await readFile(path))}`;
    }),
  ).then((lines) => lines.sort());
}

describe('uploads and downloads', () => {
  it('copies a file up and back down, byte for byte, with a one-line summary', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 5);
    const source = await localFile('one.bin', content);
    const up = await rexec(['cp', '-v', source, ':'], env);
    expect(up.exitCode).toBe(0);
    expect(up.stderr.toString()).toMatch(/^1 file copied \(3\.0 MiB in \d+\.\d s, [\d.]+ [KMG]?i?B\/s\)\n$/);
    expect((await readFile(join(server.root, 'one.bin'))).equals(content)).toBe(true);

    const back = join(local, 'one-back.bin');
    const down = await rexec(['cp', ':one.bin', back], env);
    expect(down.exitCode).toBe(0);
    expect((await readFile(back)).equals(content)).toBe(true);
    expect(await leftovers(local)).toStrictEqual([]);
  });

  it('refuses to overwrite without -f (status 1, the file named), and overwrites with it', async () => {
    const source = await localFile('clash.txt', 'new content\n');
    await writeFile(join(server.root, 'clash.txt'), 'old content\n');
    const refused = await rexec(['cp', source, ':clash.txt'], env);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.toString()).toContain(
      `rexec: ${source}: "clash.txt" already exists on the server (use -f to overwrite)`,
    );
    expect(await readFile(join(server.root, 'clash.txt'), 'utf8')).toBe('old content\n');
    expect((await rexec(['cp', '-f', source, ':clash.txt'], env)).exitCode).toBe(0);
    expect(await readFile(join(server.root, 'clash.txt'), 'utf8')).toBe('new content\n');

    const target = await localFile('local-clash.txt', 'mine\n');
    const down = await rexec(['cp', ':clash.txt', target], env);
    expect(down.exitCode).toBe(1);
    expect(down.stderr.toString()).toContain(`${target} already exists (use -f to overwrite)`);
    expect(await readFile(target, 'utf8')).toBe('mine\n');
    expect((await rexec(['cp', '-f', ':clash.txt', target], env)).exitCode).toBe(0);
    expect(await readFile(target, 'utf8')).toBe('new content\n');
  });

  it('copies into a directory: a target ending in "/", an existing one, several sources', async () => {
    const a = await localFile('multi/a.txt', 'a');
    const b = await localFile('multi/b.txt', 'b');
    expect((await rexec(['cp', a, b, ':inbox'], env)).exitCode).toBe(0);
    expect(await readFile(join(server.root, 'inbox/a.txt'), 'utf8')).toBe('a');
    expect(await readFile(join(server.root, 'inbox/b.txt'), 'utf8')).toBe('b');
    // An existing remote directory without the slash: the file goes inside.
    const c = await localFile('multi/c.txt', 'c');
    expect((await rexec(['cp', c, ':inbox'], env)).exitCode).toBe(0);
    expect(await readFile(join(server.root, 'inbox/c.txt'), 'utf8')).toBe('c');
    expect((await rexec(['cp', c, ':newdir/'], env)).exitCode).toBe(0);
    expect(await readFile(join(server.root, 'newdir/c.txt'), 'utf8')).toBe('c');

    const into = join(local, 'downloads');
    await mkdir(into);
    expect((await rexec(['cp', ':inbox/a.txt', ':inbox/b.txt', into], env)).exitCode).toBe(0);
    expect((await readdir(into)).sort()).toStrictEqual(['a.txt', 'b.txt']);
  });

  it('copies what it can and says status 1 when some files fail', async () => {
    const good = await localFile('partial/good.txt', 'good');
    const result = await rexec(['cp', '-v', join(local, 'partial/missing.txt'), good, ':partial/'], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toContain(
      `cannot read ${join(local, 'partial/missing.txt')}: no such file or directory`,
    );
    expect(result.stderr.toString()).toContain('1 file copied, 1 failed');
    expect(await readFile(join(server.root, 'partial/good.txt'), 'utf8')).toBe('good');
  });

  it('copies a directory tree with -r, both ways', async () => {
    await localFile('project/README', 'readme\n');
    await localFile('project/src/main.c', 'int main(void) { return 0; }\n');
    await localFile('project/src/lib/util.c', randomBytes(200_000));
    await localFile('project/bin/run.sh', '#!/bin/sh\necho run\n', 0o755);
    const up = await rexec(['cp', '-v', '-r', join(local, 'project'), ':work'], env);
    expect(up.exitCode).toBe(0);
    expect(up.stderr.toString()).toMatch(/^4 files copied/);
    expect(await tree(join(server.root, 'work/project'))).toStrictEqual(await tree(join(local, 'project')));
    // Without -p an executable stays executable.
    expect((await stat(join(server.root, 'work/project/bin/run.sh'))).mode & 0o111).not.toBe(0);

    const down = await rexec(['cp', '-r', ':work/project', join(local, 'copy')], env);
    expect(down.exitCode).toBe(0);
    expect(await tree(join(local, 'copy/project'))).toStrictEqual(await tree(join(local, 'project')));
    // A directory without -r is a failure of that file.
    const noR = await rexec(['cp', join(local, 'project'), ':x/'], env);
    expect(noR.exitCode).toBe(1);
    expect(noR.stderr.toString()).toContain('is a directory (use -r to copy it)');
    // And a server directory without -r: the server's refusal, and what -r does.
    const noRDown = await rexec(['cp', ':work/project', join(local, 'not-copied')], env);
    expect(noRDown.exitCode).toBe(1);
    expect(noRDown.stderr.toString()).toContain(
      'rexec: :work/project: "work/project" is a directory (-r copies directories)',
    );
  });

  it('keeps modes and modification times with -p, both ways', async () => {
    const source = await localFile('modes/secret.key', 'k', 0o600);
    await utimes(source, 1_200_000_000, 1_234_567_890.5);
    expect((await rexec(['cp', '-p', source, ':secret.key'], env)).exitCode).toBe(0);
    const uploaded = await stat(join(server.root, 'secret.key'));
    expect(uploaded.mode & 0o7777).toBe(0o600);
    expect(uploaded.mtimeMs).toBe(1_234_567_890_500);
    // Without -p, the time is the copy's.
    expect((await rexec(['cp', source, ':fresh.key'], env)).exitCode).toBe(0);
    expect((await stat(join(server.root, 'fresh.key'))).mtimeMs).toBeGreaterThan(1_300_000_000_000);
    await writeFile(join(server.root, 'dated.txt'), 'old');
    await chmod(join(server.root, 'dated.txt'), 0o640);
    await utimes(join(server.root, 'dated.txt'), 1_000_000_000, 1_000_000_000);
    const target = join(local, 'dated.txt');
    expect((await rexec(['cp', '-p', ':dated.txt', target], env)).exitCode).toBe(0);
    const info = await stat(target);
    expect(info.mode & 0o7777).toBe(0o640);
    expect(info.mtimeMs).toBe(1_000_000_000_000);
    // Never a setuid or setgid file from a server, -p or not; the sticky bit stays.
    await writeFile(join(server.root, 'planted'), '#!/bin/sh\n');
    await chmod(join(server.root, 'planted'), 0o7755);
    expect((await rexec(['cp', '-p', ':planted', join(local, 'planted')], env)).exitCode).toBe(0);
    expect((await stat(join(local, 'planted'))).mode & 0o7777).toBe(0o1755);
  });

  it('escapes terminal controls in what the server names: a file name cannot write to our terminal', async () => {
    // A student names a file for the teacher to copy: an OSC 52 clipboard write, and a
    // line rubbed out and replaced.
    const evil = 'p\u001b]52;c;ZWNobyBwd25lZA==\u0007\r\u001b[2Krexec: all passed';
    await mkdir(join(server.root, 'hw'));
    await writeFile(join(server.root, 'hw', 'ok.txt'), 'fine\n');
    execFileSync('mkfifo', [join(server.root, 'hw', evil)]);
    const result = await rexec(['cp', '-r', ':hw', join(local, 'hw-copy')], env);
    const stderr = result.stderr.toString();
    expect(stderr).toContain('is not a regular file');
    // eslint-disable-next-line no-control-regex -- no control may reach the terminal
    expect(stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(stderr).toContain('\\u001b]52;c;');
    expect(await readFile(join(local, 'hw-copy', 'hw', 'ok.txt'), 'utf8')).toBe('fine\n');
  });

  it('streams stdin up and a file down to stdout with "-"', async () => {
    const content = randomBytes(2_000_000);
    const up = await rexec(['cp', '-q', '-', ':from-stdin.bin'], env, { input: content });
    expect(up.exitCode).toBe(0);
    expect(up.stderr.length).toBe(0);
    expect((await readFile(join(server.root, 'from-stdin.bin'))).equals(content)).toBe(true);
    const down = await rexec(['cp', '-q', ':from-stdin.bin', '-'], env);
    expect(down.exitCode).toBe(0);
    expect(down.stdout.equals(content)).toBe(true);
  });

  it('refuses what the server refuses, naming the file (status 1)', async () => {
    const denied = await rexec(['cp', ':/etc/hostname', join(local, 'hostname')], env);
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr.toString()).toContain(
      'rexec: :/etc/hostname: denied by the server: "/etc/hostname" is outside the server\'s root',
    );
    expect(existsSync(join(local, 'hostname'))).toBe(false);
    const missing = await rexec(['cp', ':nothing-here', join(local, 'nothing')], env);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr.toString()).toContain('no such file');
  });

  it('copies between two servers in two steps, as the README shows', async () => {
    const other = await startServer();
    try {
      await writeFile(join(server.root, 'report.csv'), 'a,b\n1,2\n');
      const staging = join(local, 'staging');
      await mkdir(staging);
      expect((await rexec(['cp', ':report.csv', staging], env)).exitCode).toBe(0);
      expect((await rexec(['cp', join(staging, 'report.csv'), ':inbox/'], serverEnv(other))).exitCode).toBe(0);
      expect(await readFile(join(other.root, 'inbox/report.csv'), 'utf8')).toBe('a,b\n1,2\n');
    } finally {
      await other.stop();
    }
  });
});

/** `rexec args...` run by sh after `umask mask`; never rejects. */
async function rexecWithUmask(
  mask: string,
  args: readonly string[],
): Promise<{ exitCode: number | undefined; stderr: string }> {
  const result = await execa('sh', ['-c', `umask ${mask} && exec "$@"`, 'sh', process.execPath, REXEC_BIN, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent-rexec-home', ...env },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
  });
  return { exitCode: result.exitCode, stderr: String(result.stderr) };
}

/** `rexec args... REDIRECTION` run by bash: the status of rexec itself, and its stderr. */
async function rexecInto(args: readonly string[], redirection: string): Promise<{ status: number; stderr: string }> {
  const script = `"$0" "$1" ${args.map((arg) => `'${arg}'`).join(' ')} ${redirection}; exit \${PIPESTATUS[0]}`;
  const result = await execa('bash', ['--norc', '-c', script, process.execPath, REXEC_BIN], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent-rexec-home', ...env },
    extendEnv: false,
    reject: false,
    stripFinalNewline: false,
    timeout: 60_000,
  });
  return { status: result.exitCode ?? -1, stderr: String(result.stderr) };
}

describe('modes without -p', () => {
  it("gives a new file the source's permission bits less the umask, both ways, as cp and scp do", async () => {
    const secret = await localFile('umask/secret.txt', 's', 0o600);
    const shared = await localFile('umask/shared.txt', 's', 0o664);
    const tool = await localFile('umask/tool.sh', 's', 0o775);
    const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o7777;
    expect((await rexecWithUmask('022', ['cp', '-q', secret, shared, tool, ':umask022/'])).exitCode).toBe(0);
    expect(await mode(join(server.root, 'umask022/secret.txt'))).toBe(0o600);
    expect(await mode(join(server.root, 'umask022/shared.txt'))).toBe(0o644);
    expect(await mode(join(server.root, 'umask022/tool.sh'))).toBe(0o755);
    expect((await rexecWithUmask('027', ['cp', '-q', secret, shared, tool, ':umask027/'])).exitCode).toBe(0);
    expect(await mode(join(server.root, 'umask027/secret.txt'))).toBe(0o600);
    expect(await mode(join(server.root, 'umask027/shared.txt'))).toBe(0o640);
    expect(await mode(join(server.root, 'umask027/tool.sh'))).toBe(0o750);

    await mkdir(join(server.root, 'modes-down'));
    for (const [name, bits] of [
      ['private', 0o600],
      ['public', 0o666],
      ['program', 0o755],
    ] as const) {
      await writeFile(join(server.root, 'modes-down', name), name);
      await chmod(join(server.root, 'modes-down', name), bits);
    }
    const sources = ['private', 'public', 'program'].map((name) => `:modes-down/${name}`);
    const down022 = join(local, 'down022');
    const down077 = join(local, 'down077');
    await mkdir(down022);
    await mkdir(down077);
    expect((await rexecWithUmask('022', ['cp', '-q', ...sources, down022])).exitCode).toBe(0);
    expect(await mode(join(down022, 'private'))).toBe(0o600);
    expect(await mode(join(down022, 'public'))).toBe(0o644);
    expect(await mode(join(down022, 'program'))).toBe(0o755);
    expect((await rexecWithUmask('077', ['cp', '-q', ...sources, down077])).exitCode).toBe(0);
    expect(await mode(join(down077, 'public'))).toBe(0o600);
    expect(await mode(join(down077, 'program'))).toBe(0o700);
    // stdin has no mode of its own: like a file a program creates, 0666 less the umask.
    const fromStdin = await execa(
      'sh',
      [
        '-c',
        `umask 027 && echo data | exec "$@"`,
        'sh',
        process.execPath,
        REXEC_BIN,
        'cp',
        '-q',
        '-',
        ':umask-stdin.txt',
      ],
      {
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent-rexec-home', ...env },
        extendEnv: false,
        reject: false,
        timeout: 60_000,
      },
    );
    expect(fromStdin.exitCode).toBe(0);
    expect(await mode(join(server.root, 'umask-stdin.txt'))).toBe(0o640);
  });
});

describe('names that would lead out of the target', () => {
  it('cp -r .. copies under the name of the directory it resolves to', async () => {
    await localFile('dotdot/work/dotdot-top.txt', 'top');
    await localFile('dotdot/work/sub/dotdot-inner.txt', 'inner');
    const result = await rexec(['cp', '-q', '-r', '..', ':up10'], env, { cwd: join(local, 'dotdot/work/sub') });
    expect(result.exitCode).toBe(0);
    expect(await tree(join(server.root, 'up10'))).toStrictEqual([
      `work/dotdot-top.txt: ${sha256(Buffer.from('top'))}`,
      `work/sub/dotdot-inner.txt: ${sha256(Buffer.from('inner'))}`,
    ]);
    expect(existsSync(join(server.root, 'dotdot-top.txt'))).toBe(false);
  });

  it('cp -r :dir/.. is refused with the reason (status 1), and nothing lands beside the target', async () => {
    await mkdir(join(server.root, 'd10/sub'), { recursive: true });
    await writeFile(join(server.root, 'd10/sub/a.txt'), 'a');
    const parent = join(local, 'dl10');
    const target = join(parent, 'in');
    const result = await rexec(['cp', '-q', '-r', ':d10/sub/..', target], env);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.toString()).toBe(
      'rexec: :d10/sub/..: ends in "..": name the directory itself (the copy takes its name)\n',
    );
    expect(await readdir(parent)).toStrictEqual(['in']);
    expect(await readdir(target)).toStrictEqual([]);
  });
});

describe('a hostile server', () => {
  it('refuses listed paths that would land outside the target (each named, status 1) and copies the rest', async () => {
    const listing = [
      'd ',
      'f good.txt',
      'f ../../escaped.txt',
      'f /abs.txt',
      'f sub//empty.txt',
      'f ./dot.txt',
      'd ..',
      'f sub/../../up.txt',
    ];
    const fake = await startFakeServer(async (peer) => {
      peer.sendHello({ files: true });
      for (;;) {
        const frame = await peer.nextFrame().catch(() => undefined);
        if (frame === undefined) return;
        const id = frame.header['id'];
        if (frame.header.type === 'exec') {
          const body = Buffer.from(listing.map((line) => `${line}\0`).join(''));
          peer.send({ type: 'started', id, pid: 1 });
          peer.send({ type: 'stdout', id }, body);
          const exit = {
            code: 0,
            signal: null,
            timedOut: false,
            truncated: false,
            stdoutBytes: body.length,
            stderrBytes: 0,
            durationMs: 1,
          };
          peer.send({ type: 'exit', id, ...exit });
        } else if (frame.header.type === 'get') {
          const content = Buffer.from(`content of ${String(frame.header['path'])}`);
          peer.send({ type: 'file', id, size: content.length, mode: 0o644, mtimeMs: 0 });
          peer.send({ type: 'data', id, eof: true }, content);
          peer.send({ type: 'done', id, bytes: content.length, sha256: sha256(content) });
        }
      }
    });
    try {
      const parent = join(local, 'hostile');
      const target = join(parent, 'in');
      const result = await rexec(['cp', '-v', '-r', ':tree', target], {
        REXEC_PORT: String(fake.port),
        REXEC_KEY_FILE: join(local, 'no-key'),
      });
      expect(result.exitCode).toBe(1);
      const stderr = result.stderr.toString();
      expect(stderr).toContain(
        'rexec: :tree: the server listed "../../escaped.txt", which leads out of the directory (".."): not copied\n',
      );
      expect(stderr).toContain('rexec: :tree: the server listed "/abs.txt", which is absolute: not copied\n');
      expect(stderr).toContain(
        'rexec: :tree: the server listed "sub//empty.txt", which has an empty or "." component: not copied\n',
      );
      expect(stderr).toContain(
        'rexec: :tree: the server listed "./dot.txt", which has an empty or "." component: not copied\n',
      );
      expect(stderr).toContain(
        'rexec: :tree: the server listed "..", which leads out of the directory (".."): not copied\n',
      );
      expect(stderr).toContain(
        'rexec: :tree: the server listed "sub/../../up.txt", which leads out of the directory (".."): not copied\n',
      );
      expect(stderr).toContain('1 file copied, 6 failed');
      // Only the good file, where it belongs; nothing beside or above the target.
      expect(await tree(parent)).toStrictEqual([
        `in/tree/good.txt: ${sha256(Buffer.from('content of tree/good.txt'))}`,
      ]);
      expect(existsSync(join(parent, 'escaped.txt'))).toBe(false);
      expect(existsSync(join(local, 'escaped.txt'))).toBe(false);
    } finally {
      await fake.close();
    }
  });
});

describe('stdin that never ends', () => {
  it('Ctrl-C ends the copy (status 130) and removes the spooled copy; nothing reaches the server', async () => {
    const spoolDir = await mkdtemp(join(local, 'spool-'));
    const run = rexec(['cp', '-q', '-', ':never-ends.bin'], { ...env, TMPDIR: spoolDir });
    try {
      run.child.stdin?.write(Buffer.alloc(1000, 1));
      // The spooled copy holds what was written: rexec is reading stdin, which stays open.
      await waitUntil(async () => {
        const [made] = await readdir(spoolDir);
        if (made === undefined) return false;
        return (await stat(join(spoolDir, made, 'stdin')).catch(() => undefined))?.size === 1000;
      }, 'stdin to be spooled');
      run.child.kill('SIGINT');
      const result = await within(run, 'rexec to end after SIGINT');
      expect(result.exitCode).toBe(130);
      expect(await readdir(spoolDir)).toStrictEqual([]);
      expect(existsSync(join(server.root, 'never-ends.bin'))).toBe(false);
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});

describe('our stdout failing', () => {
  const big = randomBytes(8 * 1024 * 1024);

  it('a closed pipe (| head) ends the copy quietly with 141; any other write error says so, status 1', async () => {
    await writeFile(join(server.root, 'big-out.bin'), big);
    const piped = await rexecInto(['cp', ':big-out.bin', '-'], '| head -c 10 > /dev/null');
    expect(piped).toEqual({ status: 141, stderr: '' });
    const full = await rexecInto(['cp', ':big-out.bin', '-'], '> /dev/full');
    expect(full).toEqual({ status: 1, stderr: 'rexec: cannot write the output: no space left on the device\n' });
  });
});

describe('exit status 255', () => {
  it('when nothing listens', async () => {
    const source = await localFile('nowhere.txt', 'x');
    const port = await freePort();
    const result = await rexec(['cp', source, ':'], { ...env, REXEC_PORT: String(port) });
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toMatch(/cannot connect to 127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  it('when the key is wrong', async () => {
    const wrongKey = join(local, 'wrong-key');
    await writeFile(wrongKey, 'not the key at all\n', { mode: 0o600 });
    const result = await rexec(['cp', '-k', wrongKey, ':x', join(local, 'x')], env);
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toContain('authentication failed');
  });

  it('for a usage error', async () => {
    expect((await rexec(['cp', ':a', ':b'], env)).exitCode).toBe(255);
    expect((await rexec(['cp', 'a', 'b'], env)).exitCode).toBe(255);
    expect((await rexec(['cp', 'a'], env)).exitCode).toBe(255);
  });
});

describe('integrity', () => {
  it('a sha256 mismatch is a failure that names the file, and leaves no local file', async () => {
    const fake = await startFakeServer(async (peer) => {
      peer.sendHello({ files: true });
      for (;;) {
        const frame = await peer.nextFrame().catch(() => undefined);
        if (frame === undefined) return;
        const id = frame.header['id'];
        if (frame.header.type === 'get') {
          peer.send({ type: 'file', id, size: 5, mode: 420, mtimeMs: 0 });
          peer.send({ type: 'data', id, eof: true }, Buffer.from('hello'));
          peer.send({ type: 'done', id, bytes: 5, sha256: sha256(Buffer.from('jello')) });
        }
      }
    });
    try {
      const target = join(local, 'corrupt.txt');
      const result = await rexec(['cp', ':corrupt.txt', target], {
        REXEC_PORT: String(fake.port),
        REXEC_KEY_FILE: join(local, 'no-key'),
      });
      expect(result.exitCode).toBe(1);
      expect(result.stderr.toString()).toContain('rexec: :corrupt.txt: sha256 mismatch');
      expect(existsSync(target)).toBe(false);
      expect(await leftovers(local)).toStrictEqual([]);
    } finally {
      await fake.close();
    }
  });
});

describe('progress', () => {
  const big = randomBytes(8 * 1024 * 1024);

  it('draws a progress line on a terminal (a pseudo-terminal), then the summary', async () => {
    const source = await localFile('progress.bin', big);
    const command = `${process.execPath} ${REXEC_BIN} cp ${source} :progress-tty.bin`;
    const result = await execa('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent-rexec-home', ...env },
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode).toBe(0);
    const screen = String(result.stdout);
    expect(screen).toContain('\r\x1b[K');
    expect(screen).toMatch(/100% \[#{10}\] +8\.0 MiB +[\d.]+ [KMG]?i?B\/s ETA \d+:\d\d/);
    expect(screen).toContain('progress.bin');
    expect(screen).toMatch(/1 file copied \(8\.0 MiB in/);
  });

  it('prints nothing when stderr is piped (as scp), the summary alone with -v, and nothing at all with -q', async () => {
    const source = await localFile('progress-piped.bin', big);
    const piped = await rexec(['cp', source, ':progress-piped.bin'], env);
    expect(piped.exitCode).toBe(0);
    expect(piped.stderr.length).toBe(0);
    const verbose = await rexec(['cp', '-v', '-f', source, ':progress-piped.bin'], env);
    expect(verbose.exitCode).toBe(0);
    expect(verbose.stderr.toString()).toMatch(/^1 file copied \(8\.0 MiB in [^\n]*\)\n$/);
    const quiet = await rexec(['cp', '-q', '-f', source, ':progress-piped.bin'], env);
    expect(quiet.exitCode).toBe(0);
    expect(quiet.stderr.length).toBe(0);
  });
});

describe('rexec shell: put and get', () => {
  it("copies relative to the shell's directory on the server, and to ours locally", async () => {
    await mkdir(join(server.root, 'shell-dir'));
    const source = await localFile('shell-up.txt', 'from the shell\n');
    const got = join(local, 'shell-got.txt');
    const lines = [
      'cd shell-dir',
      `put ${source}`,
      `put ${source} renamed.txt`,
      `get renamed.txt ${got}`,
      `get renamed.txt ${got}`,
      'put',
    ].join('\n');
    const result = await rexec(['shell'], env, { input: `${lines}\n` });
    expect(await readFile(join(server.root, 'shell-dir/shell-up.txt'), 'utf8')).toBe('from the shell\n');
    expect(await readFile(join(server.root, 'shell-dir/renamed.txt'), 'utf8')).toBe('from the shell\n');
    expect(await readFile(got, 'utf8')).toBe('from the shell\n');
    const stderr = result.stderr.toString();
    expect(stderr).toContain(`${got} already exists (use -f to overwrite)`);
    expect(stderr).toContain('usage: put [-f] [-p] LOCAL [REMOTE]');
    // The last line's status: a usage error.
    expect(result.exitCode).toBe(2);
  });
});

describe('several hosts at once', () => {
  let second: TestServer;
  let config: string;
  let closedPort: number;
  beforeAll(async () => {
    second = await startServer();
    closedPort = await freePort();
    config = join(local, 'hosts.json');
    await writeFile(
      config,
      JSON.stringify({
        hosts: {
          one: { host: '127.0.0.1', port: server.port, keyFile: server.keyFile },
          two: { host: '127.0.0.1', port: second.port, keyFile: second.keyFile },
          down: { host: '127.0.0.1', port: closedPort, keyFile: server.keyFile },
        },
        groups: { pair: ['one', 'two'], all: ['pair', 'down'] },
      }),
    );
  });
  afterAll(() => second.stop());

  it('copies the same files to every host of a list or a group (pdcp), each checked', async () => {
    const source = await localFile('fan/report.txt', 'for everyone\n');
    const other = await localFile('fan/data.bin', randomBytes(300_000));
    const result = await rexec(['--config', config, 'cp', '-H', 'one,two', '-p', source, other, ':fan-in/'], {});
    expect(result.exitCode).toBe(0);
    expect(result.stderr.length).toBe(0);
    for (const root of [server.root, second.root]) {
      expect(await readFile(join(root, 'fan-in/report.txt'), 'utf8')).toBe('for everyone\n');
      expect(sha256(await readFile(join(root, 'fan-in/data.bin')))).toBe(sha256(await readFile(other)));
    }
    const group = await rexec(['--config', config, 'cp', '-v', '-H', 'pair', source, ':fan-group.txt'], {});
    expect(group.exitCode).toBe(0);
    const lines = group.stderr.toString().split('\n');
    expect(lines.filter((line) => /^rexec: (one|two): 1 file copied \(/.test(line))).toHaveLength(2);
    expect(group.stderr.toString()).toContain('rexec: 2 hosts: 2 ok, 0 failed\n');
  });

  it('per-host results and the fan-out exit rules: some files failed (1), a host unreachable (255)', async () => {
    const source = await localFile('fan/once.txt', 'once\n');
    await writeFile(join(second.root, 'once.txt'), 'already there');
    const partial = await rexec(['--config', config, 'cp', '-v', '-H', 'pair', source, ':once.txt'], {});
    expect(partial.exitCode).toBe(1);
    const stderr = partial.stderr.toString();
    expect(stderr).toContain(`rexec: two: ${source}: `);
    expect(stderr).toContain('(use -f to overwrite)');
    expect(stderr).toContain('rexec: 2 hosts: 1 ok, 1 failed\nrexec:   some files failed (1): two\n');
    expect(await readFile(join(server.root, 'once.txt'), 'utf8')).toBe('once\n');
    expect(await readFile(join(second.root, 'once.txt'), 'utf8')).toBe('already there');

    const withDown = await rexec(['--config', config, 'cp', '-f', '-H', 'all', source, ':once.txt'], {});
    expect(withDown.exitCode).toBe(255);
    expect(withDown.stderr.toString()).toContain(
      `rexec: down: cannot connect to 127.0.0.1:${closedPort} (connection refused)`,
    );
    // No summary without a terminal or -v: the failure lines say it all.
    expect(withDown.stderr.toString()).not.toContain('hosts:');
    expect(await readFile(join(second.root, 'once.txt'), 'utf8')).toBe('once\n');
  });

  it('-x leaves hosts out of a group', async () => {
    const source = await localFile('fan/only-one.txt', 'x');
    const result = await rexec(['--config', config, 'cp', '-H', 'all', '-x', 'down,two', source, ':only-one.txt'], {});
    expect(result.exitCode).toBe(0);
    expect(existsSync(join(server.root, 'only-one.txt'))).toBe(true);
    expect(existsSync(join(second.root, 'only-one.txt'))).toBe(false);
  });

  it('refuses downloads from several hosts and stdin to several', async () => {
    const down = await rexec(['--config', config, 'cp', '-H', 'pair', ':once.txt', local], {});
    expect(down.exitCode).toBe(255);
    expect(down.stderr.toString()).toContain('cp copies to several hosts, not from them');
    const stdin = await rexec(['--config', config, 'cp', '-H', 'pair', '-', ':x.txt'], {}, { input: 'x' });
    expect(stdin.exitCode).toBe(255);
    expect(stdin.stderr.toString()).toContain('"-" (stdin) cannot be copied to several hosts');
  });
});

// `rexec shell` driven through a pipe: lines run in order over one connection, `cd` is
// kept by the client, and the last status is the program's.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rexec, serverEnv } from '../helpers/rexec-cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startServer();
  await mkdir(join(server.root, 'sub', 'deeper'), { recursive: true });
  env = serverEnv(server);
});
afterAll(() => server.stop());

function shell(lines: string[], environment = env): ReturnType<typeof rexec> {
  return rexec(['shell'], environment, { input: lines.map((line) => `${line}\n`).join('') });
}

describe('rexec shell through a pipe', () => {
  it('runs lines in order, keeps cd, and exits with the last status', async () => {
    const result = await shell(['pwd -P', 'cd sub', 'pwd -P', 'cd deeper', 'cd ..', 'pwd -P', 'sh -c "exit 3"']);
    expect(result.stderr.toString()).toBe('');
    expect(result.stdout.toString()).toBe(`${server.root}\n${join(server.root, 'sub')}\n${join(server.root, 'sub')}\n`);
    expect(result.exitCode).toBe(3);
  });

  it('splits arguments with shell quoting, without a shell', async () => {
    const result = await shell([`printf '[%s]' "a b" c\\ d 'e"f' # a comment`]);
    expect(result.stdout.toString()).toBe('[a b][c d][e"f]');
    expect(result.exitCode).toBe(0);
  });

  it('keeps the directory when cd fails, and says why', async () => {
    const result = await shell(['cd missing', 'pwd -P', 'cd /', 'pwd -P']);
    expect(result.stdout.toString()).toBe(`${server.root}\n${server.root}\n`);
    const errors = result.stderr.toString().split('\n');
    expect(errors[0]).toMatch(/^rexec: cd: missing: /);
    expect(errors[1]).toMatch(/^rexec: cd: \/: .*outside/);
    expect(result.exitCode).toBe(0);
  });

  it('goes back with "cd -", and to the root with "cd" or "~"', async () => {
    const result = await shell([
      'cd sub/deeper',
      'cd -',
      'pwd -P',
      'cd -',
      'pwd -P',
      'cd',
      'pwd -P',
      'cd ~/sub',
      'pwd -P',
      'cd ~',
      'pwd -P',
    ]);
    const [root, sub, deeper] = [server.root, join(server.root, 'sub'), join(server.root, 'sub', 'deeper')];
    expect(result.stdout.toString()).toBe(`${root}\n${deeper}\n${root}\n${sub}\n${root}\n`);
  });

  it('stops at exit with its status', async () => {
    const result = await shell(['true', 'exit 4', 'echo not reached']);
    expect(result.stdout.toString()).toBe('');
    expect(result.exitCode).toBe(4);
  });

  it('goes on after a command that is not found, with 127 as the status', async () => {
    const result = await shell(['echo before', 'no-such-program-rexec']);
    expect(result.stdout.toString()).toBe('before\n');
    expect(result.stderr.toString()).toMatch(/^rexec: .*no-such-program-rexec/);
    expect(result.exitCode).toBe(127);
  });

  it('says that operators need a server with a shell', async () => {
    const result = await shell(['echo a | tr a b', 'echo after']);
    expect(result.stderr.toString()).toBe(
      'rexec: the operator | needs a shell, and this server has none: start rexecd with --allow-shell, or quote the argument\n',
    );
    expect(result.stdout.toString()).toBe('after\n');
  });

  it('runs lines with operators through the shell of a server that has one', async () => {
    const shellServer = await startServer({ allowShell: true });
    await mkdir(join(shellServer.root, 'dir'));
    await writeFile(join(shellServer.root, 'dir', 'one.txt'), '');
    await writeFile(join(shellServer.root, 'dir', 'two.txt'), '');
    const result = await shell(['cd dir', 'echo a | tr a b && pwd -P >&2', 'ls *.txt'], serverEnv(shellServer));
    expect(result.stdout.toString()).toBe('b\none.txt\ntwo.txt\n');
    expect(result.stderr.toString()).toBe(`${join(shellServer.root, 'dir')}\n`);
    expect(result.exitCode).toBe(0);
    await shellServer.stop();
  });

  it('sends SIGINT to the running command, not to the shell', async () => {
    const cli = rexec(['shell'], env);
    let seen = '';
    const ready = new Promise<void>((resolve) =>
      cli.child.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('ready')) resolve();
      }),
    );
    cli.child.stdin?.write(`sh -c 'trap "echo got INT; exit 3" INT; echo ready; while :; do sleep 0.05; done'\n`);
    await ready;
    cli.child.kill('SIGINT');
    cli.child.stdin?.end('echo still here\nexit\n');
    const result = await cli;
    expect(result.stdout.toString()).toBe('ready\ngot INT\nstill here\n');
    expect(result.exitCode).toBe(0);
  });

  it('fails with 255 and a message when it cannot connect', async () => {
    const result = await shell(['true'], { ...env, REXEC_PORT: '1' });
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toMatch(/^rexec: cannot connect to 127\.0\.0\.1:1 /);
  });
});

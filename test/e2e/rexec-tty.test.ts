// `rexec run -t` and `rexec shell -t` driven from a real pseudo-terminal on the client
// side (node-pty): the remote program sees a terminal of our size, resizes follow,
// Ctrl-C typed on our keyboard interrupts it, our terminal adds no CR to the output
// (OPOST off, with stty, and without it), and our terminal is given back.
import { createRequire } from 'node:module';
import type { IPty } from '@lydell/node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/raw-client.js';
import { REXEC_BIN, rexec, serverEnv } from '../helpers/rexec-cli.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

const nodePty = createRequire(import.meta.url)('@lydell/node-pty') as typeof import('@lydell/node-pty');

interface Session {
  readonly pty: IPty;
  output(): string;
  readonly exited: Promise<number>;
}

function start(
  server: TestServer,
  args: readonly string[],
  size = { cols: 100, rows: 30 },
  env: Record<string, string> = {},
): Session {
  return spawnOnPty(server, process.execPath, [REXEC_BIN, ...args], size, env);
}

function spawnOnPty(
  server: TestServer,
  file: string,
  args: readonly string[],
  size: { cols: number; rows: number },
  env: Record<string, string>,
): Session {
  const pty = nodePty.spawn(file, [...args], {
    cols: size.cols,
    rows: size.rows,
    name: 'xterm-256color',
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: '/nonexistent',
      TERM: 'xterm-256color',
      ...serverEnv(server),
      ...env,
    },
  });
  let text = '';
  pty.onData((data) => {
    text += data;
  });
  const exited = new Promise<number>((resolve) => pty.onExit(({ exitCode }) => resolve(exitCode)));
  return { pty, output: () => text, exited };
}

describe('rexec -t', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('runs on a remote terminal of our size and type', async () => {
    const session = start(server, ['run', '-t', '--', 'sh', '-c', 'tty; stty size; echo "term=$TERM"']);
    expect(await session.exited).toBe(0);
    expect(session.output()).toMatch(/\/dev\/pts\/\d+/);
    expect(session.output()).toContain('30 100');
    expect(session.output()).toContain('term=xterm-256color');
  });

  it('sends resizes: the remote program sees the new size', async () => {
    const session = start(server, [
      'run',
      '-t',
      '--',
      'sh',
      '-c',
      'trap "stty size; exit 7" WINCH; echo ready; while :; do sleep 0.05; done',
    ]);
    await waitUntil(() => session.output().includes('ready'), 'the program to start');
    session.pty.resize(132, 43);
    expect(await session.exited).toBe(7);
    expect(session.output()).toContain('43 132');
  });

  it('Ctrl-C typed locally interrupts the remote program (status 130), and the shell stays usable', async () => {
    const session = start(server, ['run', '-t', '--', 'sh', '-c', 'echo ready; exec sleep 30']);
    await waitUntil(() => session.output().includes('ready'), 'the program to start');
    session.pty.write('\x03');
    expect(await session.exited).toBe(130);
  });

  it('keys go through raw: what we type reaches the program', async () => {
    const session = start(server, ['run', '-t', '--', 'sh', '-c', 'stty -echo; read line; echo "got:$line"']);
    // Typed before the program reads: the remote terminal holds it, as a local one would.
    session.pty.write('typed text\r');
    expect(await session.exited).toBe(0);
    expect(session.output()).toContain('got:typed text');
  });

  it("shell -t runs the server's interactive shell", async () => {
    const session = start(server, ['shell', '-t']);
    session.pty.write('echo "inside-$((40+2))"; exit 5\r');
    expect(await session.exited).toBe(5);
    expect(session.output()).toContain('inside-42');
  });

  it("turns our terminal's output processing off while the program runs (no CR added), then restores it", async () => {
    // The remote program turns its own ONLCR off: its newlines must reach us unchanged.
    const remote = `"${process.execPath}" "${REXEC_BIN}" run -t -- sh -c 'stty -onlcr; printf "one\\ntwo\\n"'`;
    const session = spawnOnPty(
      server,
      'sh',
      ['-c', `stty -g; echo BEGIN; ${remote}; echo "END $?"; stty -g`],
      { cols: 100, rows: 30 },
      {},
    );
    expect(await session.exited).toBe(0);
    const screen = session.output();
    const between = screen.slice(screen.indexOf('BEGIN\r\n') + 'BEGIN\r\n'.length, screen.indexOf('END'));
    expect(between).toBe('one\ntwo\n');
    expect(screen).toContain('END 0\r\n');
    const [before, after] = screen.split('\r\n').filter((line) => /^[0-9a-f]+(:[0-9a-f]+)+$/.test(line));
    expect(before).toBeDefined();
    expect(after).toBe(before);
  });

  it('works where stty is missing', async () => {
    const session = start(server, ['run', '-t', '--', 'sh', '-c', 'printf "no-stty-%s\\n" ok'], undefined, {
      PATH: '/nonexistent-bin',
    });
    expect(await session.exited).toBe(0);
    expect(session.output()).toContain('no-stty-ok');
  });

  it('is refused with several hosts', async () => {
    const result = await rexec(
      ['run', '-t', '-H', `127.0.0.1:${server.port},127.0.0.1:${server.port}`, '--', 'true'],
      serverEnv(server),
    );
    expect(result.exitCode).toBe(255);
    expect(result.stderr.toString()).toContain('-t cannot be used with several hosts');
  });
});

describe('rexec run without -t, with a terminal as stdin', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('ends as soon as a command that does not read stdin exits, though nobody types', async () => {
    const session = start(server, ['run', '--', 'sh', '-c', 'echo ran; exit 3']);
    expect(await session.exited).toBe(3);
    expect(session.output()).toContain('ran');
  });

  it('forwards typed lines, and Ctrl-D as the end of input, to a command that reads stdin', async () => {
    const session = start(server, ['run', '--', 'sh', '-c', 'cat > typed.txt; echo "lines=$(wc -l < typed.txt)"']);
    session.pty.write('first\r');
    session.pty.write('second\r');
    await waitUntil(() => session.output().includes('second'), 'the terminal to echo what was typed');
    session.pty.write('\x04');
    expect(await session.exited).toBe(0);
    expect(session.output()).toContain('lines=2');
  });
});

// `rexec shell` at a (fake) terminal, in-process against a real rexecd: the prompt and
// its directory, Ctrl-C at the prompt and during a command, Ctrl-D.
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { main } from '../../src/cli/rexec/main.js';
import type { CliIo } from '../../src/cli/shared/io.js';
import { startServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await mkdir(join(server.root, 'sub'));
});
afterAll(() => server.stop());

/** A terminal: what the shell printed so far, and a way to wait for more. */
function terminal(): { io: CliIo; screen: () => string; shows: (text: string, after?: string) => Promise<void> } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  const stdout = Object.assign(new PassThrough(), { isTTY: true });
  const stderr = new PassThrough();
  let screen = '';
  const waiters: Array<() => void> = [];
  const append = (chunk: Buffer): void => {
    screen += chunk.toString();
    for (const check of waiters.splice(0)) check();
  };
  stdout.on('data', append);
  stderr.on('data', append);
  /** Resolves once `text` is on the screen (after the last `after`, if given). */
  const shows = (text: string, after?: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        const start = after === undefined ? 0 : screen.lastIndexOf(after);
        if (start >= 0 && screen.indexOf(text, start) >= 0) resolve();
        else waiters.push(check);
      };
      check();
    });
  return { io: { stdin, stdout, stderr, signals: new EventEmitter() }, screen: () => screen, shows };
}

it('shows user, host and directory in the prompt, and handles Ctrl-C and Ctrl-D', async () => {
  const { io, screen, shows } = terminal();
  const status = main(['shell', '-H', server.host, '-p', String(server.port), '-k', server.keyFile], io);
  const prompt = (dir: string): string => `default@${server.host}:${dir}$ `;

  await shows(prompt('~'));
  io.stdin.push('cd sub\r');
  await shows(prompt('~/sub'));

  // Ctrl-C at the prompt drops the line typed so far.
  io.stdin.push('echo never');
  io.stdin.push('\x03');
  await shows('^C');
  io.stdin.push('pwd -P\r');
  await shows(`${join(server.root, 'sub')}\n`);
  expect(screen()).not.toContain('never\r\n');

  // Ctrl-C during a command goes to the command.
  // (The terminal echoes the typed line: the output is told apart by what sh computes.)
  io.stdin.push(`sh -c 'trap "echo caught-$((1+1)); exit 3" INT; echo ready-$((1+1)); while :; do sleep 0.05; done'\r`);
  await shows('ready-2');
  io.stdin.push('\x03');
  await shows('caught-2');
  await shows(prompt('~/sub'), 'caught-2');

  io.stdin.push('cd ~\r');
  await shows(prompt('~'), 'cd ~');
  // Ctrl-D on an empty line leaves, with the last status (cd's).
  io.stdin.push('\x04');
  expect(await status).toBe(0);
  expect(screen()).toContain('ready-2\ncaught-2\n');
});

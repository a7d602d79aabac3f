// The test-kit subcommands in-process: registered under `rexec`, with their usage
// errors (status 255, commander's message) and help.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/rexec/main.js';
import type { CliIo } from '../../../src/cli/shared/io.js';

function fakeIo(input = ''): { io: CliIo; stdout: () => string; stderr: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const stdin = new PassThrough();
  stdin.end(input);
  return {
    io: { stdin, stdout, stderr, signals: new EventEmitter() },
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
  };
}

describe('rexec conformance and rexec frames', () => {
  it('refuse bad usage with 255 and a message that says what was expected', async () => {
    const cases: Array<[string[], string]> = [
      [['conformance', 'server', 'host:x'], 'expected HOST:PORT (e.g. 127.0.0.1:7077), not "host:x"'],
      [['conformance', 'server', '127.0.0.1:7077', '--wait', '0'], 'expected a positive number of milliseconds'],
      [['conformance', 'client', '--timeout', 'soon', '--', 'true'], 'expected a positive number of milliseconds'],
      [['frames', 'encode'], "required option '--header <json>' not specified"],
      [['frames', 'decode', '--preview', 'some'], 'expected a number, not "some"'],
      [['conformance', 'server'], 'give the server to check as HOST:PORT'],
    ];
    for (const [args, message] of cases) {
      const { io, stderr } = fakeIo();
      expect(await main(args, io), args.join(' ')).toBe(255);
      expect(stderr()).toContain(message);
    }
  });

  it('print help naming every option', async () => {
    const { io, stdout } = fakeIo();
    expect(await main(['conformance', 'server', '--help'], io)).toBe(0);
    for (const option of [
      '--key-file',
      '--user',
      '--json',
      '--only',
      '--list',
      '--wait',
      '--idle-timeout',
      '--auth-timeout',
      '--grace',
    ]) {
      expect(stdout()).toContain(option);
    }
  });

  it("decode from the program's stdin in-process", async () => {
    const { io, stdout } = fakeIo('0000000f000000007b2274797065223a2270696e67227d');
    expect(await main(['frames', 'decode', '--hex'], io)).toBe(0);
    expect(stdout()).toBe('#0  offset 0  H=15 B=0  {"type":"ping"}\n1 frame, 23 bytes: valid\n');
  });
});

// The `rexec` program in-process: help, version and usage errors, without a server.
import { PassThrough } from 'node:stream';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/rexec/main.js';
import type { CliIo } from '../../../src/cli/shared/io.js';

function fakeIo(): { io: CliIo; stdout: () => string; stderr: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return {
    io: { stdin: new PassThrough(), stdout, stderr, signals: new EventEmitter() },
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
  };
}

describe('rexec main()', () => {
  it('prints help with status 0', async () => {
    const { io, stdout } = fakeIo();
    expect(await main(['run', '--help'], io)).toBe(0);
    expect(stdout()).toContain('Usage: rexec run [options] <command...>');
    expect(stdout()).toMatch(/-p, --port <port> +server port \(default: 7077, env:\s+REXEC_PORT\)/);
  });

  it("returns 255 for usage errors, with commander's message on stderr", async () => {
    const cases: Array<[string[], string]> = [
      [['run'], "missing required argument 'command'"],
      [['run', '--timeout', '0', '--', 'true'], 'expected a positive number of milliseconds'],
      [['run', '-e', 'NOEQUALS', '--', 'true'], 'expected NAME=VALUE'],
      [['-p', '70000', 'ping'], 'the port must be a number 1..65535'],
      [['frobnicate'], "unknown command 'frobnicate'"],
    ];
    for (const [args, message] of cases) {
      const { io, stderr } = fakeIo();
      expect(await main(args, io)).toBe(255);
      expect(stderr()).toContain(message);
    }
  });
});

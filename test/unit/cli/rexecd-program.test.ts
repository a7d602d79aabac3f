// The `rexecd` program in-process: help, version, usage errors and the subcommands
// that only write files, with its streams passed in (serving is tested as a process).
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/rexecd/main.js';
import type { RexecdIo } from '../../../src/cli/rexecd/io.js';

function fakeIo(): { io: RexecdIo; stdout: () => string; stderr: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return {
    io: { stdout, stderr, events: new EventEmitter() },
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
  };
}

describe('rexecd main()', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('prints help and the version on its stdout, with status 0', async () => {
    const help = fakeIo();
    expect(await main(['--help'], help.io)).toBe(0);
    expect(help.stdout()).toContain('Usage: rexecd [options] [command]');
    expect(help.stdout()).toMatch(/--port <n> +TCP port \(0 picks a free one\) \(default: 7077/);
    const version = fakeIo();
    expect(await main(['--version'], version.io)).toBe(0);
    expect(version.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("returns 1 for usage errors, with commander's message on its stderr", async () => {
    for (const [args, message] of [
      [['--port', '70000'], 'expected an integer 0..65535'],
      [['--frobnicate'], "unknown option '--frobnicate'"],
      [['tls-init'], "missing required argument 'dir'"],
    ] as const) {
      const { io, stderr } = fakeIo();
      expect(await main(args, io), args.join(' ')).toBe(1);
      expect(stderr()).toContain(message);
    }
  });

  it('keygen writes a private key and says so on its stdout; refuses to replace it (status 1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rexecd-program-'));
    dirs.push(dir);
    const path = join(dir, 'key');
    const first = fakeIo();
    expect(await main(['keygen', path], first.io)).toBe(0);
    expect(first.stdout()).toBe(`wrote a new key to ${path}\n`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await readFile(path, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = fakeIo();
    expect(await main(['keygen', path], again.io)).toBe(1);
    expect(again.stderr()).toBe(`rexecd: key file ${path} already exists\n`);
  });
});

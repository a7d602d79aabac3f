// The operands of `rexec cp` and of the shell's put/get: which side, which way, where
// each file lands.
import { describe, expect, it } from 'vitest';
import { planCopy, remoteDestination } from '../../../src/cli/rexec/cp/cp-args.js';
import { CliError } from '../../../src/cli/shared/cli-error.js';
import { parseShellTransfer } from '../../../src/cli/rexec/shell/shell-files.js';

describe('planCopy', () => {
  it('uploads when the target has the colon', () => {
    expect(planCopy(['a.txt', ':b.txt'], false)).toStrictEqual({
      direction: 'upload',
      sources: ['a.txt'],
      target: 'b.txt',
      intoDirectory: false,
    });
    expect(planCopy(['a.txt', ':'], false)).toMatchObject({ target: '', intoDirectory: true });
    expect(planCopy(['a.txt', ':dir/'], false)).toMatchObject({ target: 'dir/', intoDirectory: true });
    expect(planCopy(['a', 'b', ':dir'], false)).toMatchObject({ intoDirectory: true });
    expect(planCopy(['tree', ':dir'], true)).toMatchObject({ intoDirectory: true });
    expect(planCopy(['-', ':from-stdin'], false)).toMatchObject({ sources: ['-'], intoDirectory: false });
  });

  it('downloads when the sources have the colon', () => {
    expect(planCopy([':a.txt', 'b.txt'], false)).toStrictEqual({
      direction: 'download',
      sources: ['a.txt'],
      target: 'b.txt',
    });
    expect(planCopy([':/abs/a', ':rel/b', 'dir'], false)).toMatchObject({
      sources: ['/abs/a', 'rel/b'],
      target: 'dir',
    });
    expect(planCopy([':a', '-'], false)).toMatchObject({ target: '-' });
  });

  const refusals: Array<{ operands: string[]; message: RegExp; recursive?: boolean }> = [
    { operands: ['only-one'], message: /needs a SOURCE and a TARGET/ },
    { operands: [':a', ':b'], message: /two steps/ },
    { operands: ['a', 'b'], message: /neither a nor b is on the server/ },
    { operands: [':a', 'b', 'c'], message: /both local/ },
    { operands: ['-', 'a', ':x'], message: /only source/ },
    { operands: ['-', ':dir/'], message: /give the file name/ },
    { operands: ['-', ':x'], message: /cannot be copied with -r/, recursive: true },
    { operands: [':', 'x'], message: /root directory/ },
    { operands: [':a', ':b', '-'], message: /exactly one file/ },
  ];
  it.each(refusals)('refuses $operands', ({ operands, message, recursive }) => {
    expect(() => planCopy(operands, recursive === true)).toThrow(CliError);
    expect(() => planCopy(operands, recursive === true)).toThrow(message);
  });

  it('places a source into a directory target, keeping the tree below it', () => {
    expect(remoteDestination({ target: 'b.txt', intoDirectory: false }, 'a.txt')).toBe('b.txt');
    expect(remoteDestination({ target: '', intoDirectory: true }, 'a.txt')).toBe('a.txt');
    expect(remoteDestination({ target: 'in/', intoDirectory: true }, 'a.txt')).toBe('in/a.txt');
    expect(remoteDestination({ target: '/srv/x', intoDirectory: true }, 'tree', 'sub/f.c')).toBe('/srv/x/tree/sub/f.c');
  });
});

describe('put and get at the shell prompt', () => {
  it("put: the server side is the shell's directory, the name the local one's", () => {
    expect(parseShellTransfer(['put', 'notes.txt'], '/srv/root/sub')).toStrictEqual({
      plan: { direction: 'upload', sources: ['notes.txt'], target: '/srv/root/sub/notes.txt', intoDirectory: false },
      flags: { force: false, preserve: false },
    });
    expect(parseShellTransfer(['put', '-f', '../x/a.sh', 'b.sh'], '/r')).toMatchObject({
      plan: { target: '/r/b.sh' },
      flags: { force: true },
    });
    expect(parseShellTransfer(['put', 'a', 'dir/'], '/r')).toMatchObject({ plan: { target: '/r/dir/a' } });
    expect(parseShellTransfer(['put', 'a', '/abs/b'], '/r')).toMatchObject({ plan: { target: '/abs/b' } });
    expect(parseShellTransfer(['put', 'a'], undefined)).toMatchObject({ plan: { target: 'a' } });
  });

  it('get: into our directory unless a local path is given', () => {
    expect(parseShellTransfer(['get', '-p', 'log.txt'], '/r/logs')).toStrictEqual({
      plan: { direction: 'download', sources: ['/r/logs/log.txt'], target: '.' },
      flags: { force: false, preserve: true },
    });
    expect(parseShellTransfer(['get', '/etc/motd', 'here.txt'], '/r')).toMatchObject({
      plan: { sources: ['/etc/motd'], target: 'here.txt' },
    });
  });

  it.each([[['put']], [['get', 'a', 'b', 'c']], [['put', '-x', 'a']]])('usage for %j', (argv) => {
    expect(parseShellTransfer(argv, '/r')).toHaveProperty('usage');
  });
});

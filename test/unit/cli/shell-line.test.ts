import { describe, expect, it } from 'vitest';
import { parseShellLine } from '../../../src/cli/rexec/shell/shell-line.js';

describe('parseShellLine', () => {
  it('splits plain commands into argv with shell quoting', () => {
    expect(parseShellLine(`ls -la "a b" c\\ d 'e"f'`)).toEqual({
      kind: 'argv',
      argv: ['ls', '-la', 'a b', 'c d', 'e"f'],
    });
    expect(parseShellLine(`echo '$HOME' "*"`)).toEqual({ kind: 'argv', argv: ['echo', '$HOME', '*'] });
  });

  it('drops comments and ignores empty lines', () => {
    expect(parseShellLine('echo hi # not an argument')).toEqual({ kind: 'argv', argv: ['echo', 'hi'] });
    expect(parseShellLine('   ')).toEqual({ kind: 'empty' });
    expect(parseShellLine('# only a comment')).toEqual({ kind: 'empty' });
  });

  it('sends operators, globs and variables to the shell, naming the first', () => {
    expect(parseShellLine('a | b')).toEqual({ kind: 'shell', command: 'a | b', feature: 'the operator |' });
    expect(parseShellLine('ls *.txt')).toEqual({ kind: 'shell', command: 'ls *.txt', feature: 'the pattern *.txt' });
    expect(parseShellLine('echo $HOME > x')).toEqual({
      kind: 'shell',
      command: 'echo $HOME > x',
      feature: 'the variable $HOME',
    });
  });

  it('recognises cd and exit', () => {
    expect(parseShellLine('cd')).toEqual({ kind: 'cd', dir: undefined });
    expect(parseShellLine('cd "my dir"')).toEqual({ kind: 'cd', dir: 'my dir' });
    expect(parseShellLine('cd a b')).toEqual({ kind: 'invalid', message: 'cd: too many arguments' });
    expect(parseShellLine('cd $HOME').kind).toBe('invalid');
    expect(parseShellLine('exit')).toEqual({ kind: 'exit', status: undefined });
    expect(parseShellLine('exit 3')).toEqual({ kind: 'exit', status: 3 });
    expect(parseShellLine('exit 256')).toEqual({ kind: 'exit', status: 0 });
    expect(parseShellLine('exit x').kind).toBe('invalid');
  });
});

// The file helper's control messages as rexecd reads them: another process of the lab
// account can write that channel, so only whole, well-typed messages are taken.
import { describe, expect, it } from 'vitest';
import { helperMessage } from '../../../src/server/files/helper-protocol.js';

const FILE = { path: '/jail/a.txt', size: 3, mode: 0o644, mtimeMs: 1.5, identity: '2049:12' };

describe('helperMessage', () => {
  it('takes each message the helper says, as it says it', () => {
    for (const message of [
      { ready: { path: '/jail/.rexec-1.tmp' } },
      { file: FILE },
      { file: { ...FILE, size: 0, mode: 0, mtimeMs: -1 } },
      { file: { ...FILE, size: Number.MAX_SAFE_INTEGER, mode: 0o7777 } },
      { done: { bytes: 0 } },
      { done: { bytes: 12 } },
      { error: { code: 'NOT_FOUND', message: 'no such file' } },
      { ready: { path: 'p'.repeat(8192) } },
    ]) {
      expect(helperMessage(JSON.parse(JSON.stringify(message)))).toStrictEqual(message);
    }
  });

  it('keeps only the fields of the message', () => {
    expect(helperMessage({ file: { ...FILE, extra: 1 } })).toStrictEqual({ file: FILE });
    expect(helperMessage({ done: { bytes: 1, more: 'x' } })).toStrictEqual({ done: { bytes: 1 } });
    expect(helperMessage({ error: { code: 'X', message: 'y', stack: 'z' } })).toStrictEqual({
      error: { code: 'X', message: 'y' },
    });
  });

  it.each([
    ['not an object', 'ready'],
    ['null', null],
    ['an array', [{ done: { bytes: 1 } }]],
    ['no key', {}],
    ['two keys', { done: { bytes: 1 }, error: { code: 'X', message: 'y' } }],
    ['an unknown key', { hello: { path: 'a' } }],
    ['a body that is not an object', { done: 5 }],
    ['a null body', { file: null }],
    ['an array body', { ready: ['a'] }],
    ['a ready path that is not a string', { ready: { path: 5 } }],
    ['a ready path too long', { ready: { path: 'p'.repeat(8193) } }],
    ['a file path that is not a string', { file: { ...FILE, path: {} } }],
    ['a size that is a string', { file: { ...FILE, size: '3' } }],
    ['a negative size', { file: { ...FILE, size: -1 } }],
    ['a size that is not whole', { file: { ...FILE, size: 1.5 } }],
    ['a size past 2^53', { file: { ...FILE, size: 2 ** 53 } }],
    ['a mode past 0o7777', { file: { ...FILE, mode: 0o10000 } }],
    ['a negative mode', { file: { ...FILE, mode: -1 } }],
    ['a mode that is not whole', { file: { ...FILE, mode: 0.5 } }],
    ['a mode that is a string', { file: { ...FILE, mode: '644' } }],
    ['an mtime that is not a number', { file: { ...FILE, mtimeMs: '1' } }],
    ['an mtime that is not finite', { file: { ...FILE, mtimeMs: Infinity } }],
    ['an mtime that is NaN', { file: { ...FILE, mtimeMs: NaN } }],
    ['an identity that is not a string', { file: { ...FILE, identity: 5 } }],
    ['an identity too long', { file: { ...FILE, identity: 'i'.repeat(8193) } }],
    ['done bytes that are a string', { done: { bytes: '1' } }],
    ['negative done bytes', { done: { bytes: -1 } }],
    ['an error code that is not a string', { error: { code: 1, message: 'm' } }],
    ['an error message that is not a string', { error: { code: 'X', message: { a: 1 } } }],
    ['an error message too long', { error: { code: 'X', message: 'm'.repeat(8193) } }],
    ['an error with no message', { error: { code: 'X' } }],
  ])('refuses %s', (_what, value) => {
    expect(helperMessage(value)).toBeUndefined();
  });
});

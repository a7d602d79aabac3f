// The file transfer extension's frames (docs/protocol.md section 9): put, get and data from the
// client, ready, file, data and done from the server, with section 8's precedence.
import { describe, expect, it } from 'vitest';
import { parseHeader } from '../../../src/protocol/frame-decoder.js';
import type { FrameHeader } from '../../../src/protocol/frame.js';
import { parseRequest, parseServerMessage } from '../../../src/protocol/messages.js';
import { rexecErrorOf } from './harness.js';

const h = (json: string): FrameHeader => parseHeader(Buffer.from(json, 'utf8'));
const refusal = (json: string): { code: string; id: number | undefined } => {
  const error = rexecErrorOf(() => parseRequest(h(json)));
  return { code: error.code, id: error.id };
};

describe('put, get and data requests', () => {
  it('put gets the documented defaults', () => {
    expect(parseRequest(h('{"type":"put","id":3,"path":"a.txt","size":0}'))).toStrictEqual({
      type: 'put',
      id: 3,
      path: 'a.txt',
      size: 0,
      mode: 0o644,
      overwrite: false,
      mkdirs: false,
    });
  });

  it('put keeps mode, overwrite and mkdirs; null counts as absent', () => {
    expect(
      parseRequest(h('{"type":"put","id":1,"path":"/x","size":5,"mode":4093,"overwrite":true,"mkdirs":true}')),
    ).toMatchObject({
      mode: 0o7775,
      overwrite: true,
      mkdirs: true,
    });
    expect(parseRequest(h('{"type":"put","id":1,"path":"x","size":5,"mode":null}'))).toMatchObject({ mode: 0o644 });
  });

  it('put keeps mtimeMs (rexec), and leaves it out when absent', () => {
    expect(parseRequest(h('{"type":"put","id":1,"path":"x","size":5,"mtimeMs":1000000000000.5}'))).toMatchObject({
      mtimeMs: 1_000_000_000_000.5,
    });
    expect(parseRequest(h('{"type":"put","id":1,"path":"x","size":5,"mtimeMs":-5}'))).toMatchObject({ mtimeMs: -5 });
    expect(parseRequest(h('{"type":"put","id":1,"path":"x","size":5,"mtimeMs":null}'))).not.toHaveProperty('mtimeMs');
  });

  it('get and data', () => {
    expect(parseRequest(h('{"type":"get","id":9,"path":"dir/f"}'))).toStrictEqual({
      type: 'get',
      id: 9,
      path: 'dir/f',
    });
    expect(parseRequest(h('{"type":"data","id":9}'))).toStrictEqual({ type: 'data', id: 9, eof: false });
    expect(parseRequest(h('{"type":"data","id":9,"eof":true}'))).toStrictEqual({ type: 'data', id: 9, eof: true });
  });

  it.each([
    ['{"type":"put","id":1,"size":1}', 'no path'],
    ['{"type":"put","id":1,"path":"","size":1}', 'an empty path'],
    ['{"type":"put","id":1,"path":"a\\u0000b","size":1}', 'a NUL in the path'],
    ['{"type":"put","id":1,"path":"a"}', 'no size'],
    ['{"type":"put","id":1,"path":"a","size":-1}', 'a negative size'],
    ['{"type":"put","id":1,"path":"a","size":1.5}', 'a fractional size'],
    ['{"type":"put","id":1,"path":"a","size":1e300}', 'a size beyond 2^53'],
    ['{"type":"put","id":1,"path":"a","size":1,"mode":4096}', 'a mode over 0o7777'],
    ['{"type":"put","id":1,"path":"a","size":1,"mode":-1}', 'a negative mode'],
    ['{"type":"put","id":1,"path":"a","size":1,"mtimeMs":1e300}', 'an mtimeMs beyond any date'],
    ['{"type":"get","id":1}', 'a get without path'],
  ])('BAD_REQUEST with the id: %s (%s)', (json) => {
    expect(refusal(json)).toStrictEqual({ code: 'BAD_REQUEST', id: 1 });
  });

  it.each([
    '{"type":"put","path":"a","size":1}',
    '{"type":"put","id":0,"path":"a","size":1}',
    '{"type":"data","id":2147483648}',
  ])('BAD_REQUEST without an id for a bad id: %s', (json) => {
    expect(refusal(json)).toStrictEqual({ code: 'BAD_REQUEST', id: undefined });
  });

  it.each([
    '{"type":"put","id":1,"path":5,"size":1}',
    '{"type":"put","id":1,"path":"a","size":"1"}',
    '{"type":"put","id":1,"path":"a","size":1,"mode":"0644"}',
    '{"type":"put","id":1,"path":"a","size":1,"overwrite":"yes"}',
    '{"type":"put","id":1,"path":"a","size":1,"mtimeMs":"yesterday"}',
    '{"type":"put","id":"1","path":"","size":-1}',
    '{"type":"get","id":1,"path":["a"]}',
    '{"type":"data","id":1,"eof":1}',
  ])('PROTOCOL wins over BAD_REQUEST for a wrong JSON type: %s', (json) => {
    expect(refusal(json).code).toBe('PROTOCOL');
  });
});

describe('ready, file, data and done from the server', () => {
  it.each([
    ['{"type":"ready","id":1}', { type: 'ready', id: 1 }],
    [
      '{"type":"file","id":2,"size":10,"mode":420,"mtimeMs":1.5}',
      { type: 'file', id: 2, size: 10, mode: 420, mtimeMs: 1.5 },
    ],
    ['{"type":"data","id":2}', { type: 'data', id: 2, eof: false }],
    ['{"type":"data","id":2,"eof":true}', { type: 'data', id: 2, eof: true }],
    ['{"type":"done","id":2,"bytes":10,"sha256":"ab"}', { type: 'done', id: 2, bytes: 10, sha256: 'ab' }],
  ])('%s', (json, expected) => {
    expect(parseServerMessage(h(json))).toStrictEqual(expected);
  });

  it.each(['{"type":"ready"}', '{"type":"done","id":1,"bytes":"10"}', '{"type":"file","id":1,"size":true}'])(
    'a malformed one is UNEXPECTED_FRAME: %s',
    (json) => {
      expect(rexecErrorOf(() => parseServerMessage(h(json))).code).toBe('UNEXPECTED_FRAME');
    },
  );
});

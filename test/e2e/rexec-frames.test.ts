// `rexec frames decode` and `rexec frames encode` as processes: listings, the offset and
// code where a stream goes wrong, exit statuses, and frames built byte for byte.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rexec } from '../helpers/rexec-cli.js';
import { loadShared } from '../unit/protocol/harness.js';

const shared = loadShared();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rexec-frames-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('rexec frames decode', () => {
  it('lists the frames of a captured stream file, with a verdict, status 0', async () => {
    const file = join(dir, 'stream.bin');
    await writeFile(file, Buffer.from(shared.stream_of_first_four_hex, 'hex'));
    const result = await rexec(['frames', 'decode', file], {});
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.toString().split('\n');
    expect(lines[0]).toBe('#0  offset 0  H=15 B=0  {"type":"ping"}');
    expect(lines[2]).toBe('#2  offset 77  H=24 B=6  {"type":"stdout","id":1}  body "hello\\n"');
    expect(lines[4]).toBe('4 frames, 250 bytes: valid');
  });

  it('reads hex from stdin, and points at the offset and code where the stream stops being valid, status 1', async () => {
    const input = '0000000f 00000000 7b2274797065223a2270696e67227d\n0000000f 00100001\n';
    const result = await rexec(['frames', 'decode', '--hex'], {}, { input });
    expect(result.exitCode).toBe(1);
    expect(result.stdout.toString()).toBe(
      '#0  offset 0  H=15 B=0  {"type":"ping"}\n' +
        'INVALID at offset 27 (frame 1, body length): FRAME_TOO_LARGE: body length 1048577 is over the limit of 1048576\n' +
        '1 frame before it, 31 bytes in all\n',
    );
  });

  it('says where a stream ends inside a frame, status 1', async () => {
    const input = shared.stream_of_first_four_hex.slice(0, -2);
    const result = await rexec(['frames', 'decode', '--hex', '-'], {}, { input });
    expect(result.exitCode).toBe(1);
    expect(result.stdout.toString()).toContain(
      'INCOMPLETE at offset 115 (frame 3, frame): the stream ends inside frame 3: it has 134 of its 135 bytes\n',
    );
  });

  it('gives one JSON object with --json', async () => {
    const result = await rexec(['frames', 'decode', '--hex', '--json'], {}, { input: '00000002000000005b5d' });
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(result.stdout.toString())).toEqual({
      length: 10,
      valid: false,
      frames: [],
      problem: {
        kind: 'invalid',
        code: 'PROTOCOL',
        offset: 8,
        frameIndex: 0,
        part: 'header',
        message: 'header is not a JSON object',
      },
    });
  });

  it('fails with 255 on input it cannot read', async () => {
    const notHex = await rexec(['frames', 'decode', '--hex'], {}, { input: '0x12' });
    expect(notHex.exitCode).toBe(255);
    expect(notHex.stderr.toString()).toBe(
      'rexec: stdin is not hex: expected pairs of hex digits (whitespace is ignored)\n',
    );
    const missing = await rexec(['frames', 'decode', join(dir, 'missing.bin')], {});
    expect(missing.exitCode).toBe(255);
    expect(missing.stderr.toString()).toMatch(/^rexec: cannot read .*missing\.bin: ENOENT\n$/);
  });
});

describe('rexec frames encode', () => {
  it("writes exactly the shared vectors' bytes", async () => {
    const ping = await rexec(['frames', 'encode', '--header', '{"type":"ping"}'], {});
    expect(ping.exitCode).toBe(0);
    expect(ping.stdout.toString('hex')).toBe(shared.frames[0]?.frame_hex);
    const body = join(dir, 'body.bin');
    await writeFile(body, Buffer.from('hello\n'));
    const stdout = await rexec(
      ['frames', 'encode', '--header', '{"type":"stdout","id":1}', '--body', body, '--hex'],
      {},
    );
    expect(stdout.stdout.toString()).toBe(`${shared.frames[2]?.frame_hex}\n`);
  });

  it('takes the body from stdin with -, keeps the header exactly as written, and writes to --out', async () => {
    const out = join(dir, 'frame.bin');
    const header = '{ "type" : "stdin", "id" : 7 }';
    const result = await rexec(
      ['frames', 'encode', '--header', header, '--body', '-', '--out', out],
      {},
      { input: Buffer.from([0, 255]) },
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(0);
    const frame = await readFile(out);
    expect(frame.readUInt32BE(0)).toBe(Buffer.byteLength(header));
    expect(frame.readUInt32BE(4)).toBe(2);
    expect(frame.subarray(8).equals(Buffer.concat([Buffer.from(header), Buffer.from([0, 255])]))).toBe(true);
    const decoded = await rexec(['frames', 'decode', out], {});
    expect(decoded.stdout.toString()).toContain('{"type":"stdin","id":7}  body hex 00 ff');
  });

  it('refuses what section 2 forbids, naming the code, unless --unchecked', async () => {
    const bad = await rexec(['frames', 'encode', '--header', '{"id":1}'], {});
    expect(bad.exitCode).toBe(255);
    expect(bad.stderr.toString()).toBe(
      'rexec: PROTOCOL: header has no string "type" (section 2; --unchecked writes it anyway)\n',
    );
    const big = join(dir, 'big.bin');
    await writeFile(big, Buffer.alloc(1048577));
    const tooLarge = await rexec(['frames', 'encode', '--header', '{"type":"stdin","id":1}', '--body', big], {});
    expect(tooLarge.stderr.toString()).toContain('FRAME_TOO_LARGE: the body is 1048577 bytes, over 1048576');
    const unchecked = await rexec(['frames', 'encode', '--unchecked', '--hex', '--header', 'not json'], {});
    expect(unchecked.exitCode).toBe(0);
    expect(unchecked.stdout.toString()).toBe(`0000000800000000${Buffer.from('not json').toString('hex')}\n`);
  });
});

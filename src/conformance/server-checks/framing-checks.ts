// Sections 1 and 2, well-formed input: byte lengths, any JSON formatting, unknown and
// null members, requests cut into single bytes or coalesced into one write, and the
// largest header and body.
import { randomBytes } from 'node:crypto';
import { encodeFrameBuffer } from '../../protocol/frame-encoder.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH } from '../../protocol/constants.js';
import { rawFrame, sameBytes } from '../bytes.js';
import { expectEqual, fail, show } from '../check.js';
import type { Check } from '../check.js';
import { awaitEnd, expectExited, expectUncapped } from '../replies.js';
import type { ServerContext } from '../server-context.js';

/** The checks of sections 1 and 2 for valid frames. */
export const FRAMING_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  {
    id: 'ping-pong',
    section: '4',
    title: 'a ping gets a pong echoing its ts (any JSON value); without ts, a pong without one',
    async run(context) {
      const probe = await context.ready();
      const ts = { n: 1.5, list: [true, null, 'x'], nested: { a: 'b' } };
      probe.send({ type: 'ping', ts });
      expectEqual((await probe.next({ type: 'pong' }, context.waitMs)).header['ts'], ts, 'pong ts');
      probe.send({ type: 'ping' });
      const bare = (await probe.next({ type: 'pong' }, context.waitMs)).header;
      if (bare['ts'] !== undefined && bare['ts'] !== null) fail(`a ping without ts got ${show(bare)}`);
    },
  },
  {
    id: 'utf8-lengths',
    section: '2',
    title: 'header lengths count UTF-8 bytes, both ways (a ts of multi-byte characters echoes intact)',
    async run(context) {
      const probe = await context.ready();
      const ts = '粘包 ü 😀 — the sticky packet';
      probe.send({ type: 'ping', ts });
      expectEqual((await probe.next({ type: 'pong' }, context.waitMs)).header['ts'], ts, 'pong ts');
    },
  },
  {
    id: 'json-formatting',
    section: '2',
    title: 'any JSON formatting is valid: whitespace, newlines, escapes, member order',
    async run(context) {
      const probe = await context.ready();
      probe.write(rawFrame(' {\n\t"ts" : [ 1 , "\\u00e9" ] ,\r\n "type":"\\u0070ing"\n} '));
      expectEqual((await probe.next({ type: 'pong' }, context.waitMs)).header['ts'], [1, 'é'], 'pong ts');
    },
  },
  {
    id: 'unknown-members',
    section: '2',
    title: 'members the server does not know are ignored',
    async run(context) {
      const probe = await context.ready();
      probe.send({ type: 'ping', ts: 7, 'x-conformance': { nested: [1, null, { deep: true }] }, zzz: 'unknown' });
      expectEqual((await probe.next({ type: 'pong' }, context.waitMs)).header['ts'], 7, 'pong ts');
    },
  },
  {
    id: 'null-members',
    section: '2',
    title: 'a member whose value is null counts as absent',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      probe.send({ type: 'ping', ts: null });
      const pong = (await probe.next({ type: 'pong' }, context.waitMs)).header;
      if (pong['ts'] !== undefined && pong['ts'] !== null) fail(`a ping with ts null got ${show(pong)}`);
      const nulls = { command: null, cwd: null, env: null, timeoutMs: null, stdin: null, merge: null };
      probe.send({ type: 'exec', id: 1, argv: ['printf', 'ok'], ...nulls });
      const outcome = await awaitEnd(probe, 1, context.waitMs);
      const exit = expectExited(outcome, 'an exec with null command, cwd, env, timeoutMs, stdin and merge');
      expectEqual([outcome.stdout.toString(), exit['code']], ['ok', 0], 'its output and code');
    },
  },
  {
    id: 'one-byte-writes',
    section: '1',
    title: 'requests sent one byte per write are decoded (the server reads a stream, not messages)',
    async run(context) {
      const { probe, hello, snonce } = await context.open();
      const frames: Buffer[] = [];
      if (hello['auth'] !== 'none') frames.push(encodeFrameBuffer(context.authRequest(snonce)));
      frames.push(encodeFrameBuffer({ type: 'ping', ts: 'byte by byte' }));
      await probe.trickle(Buffer.concat(frames));
      const pong = await probe.next({ type: 'pong' }, context.waitMs);
      expectEqual(pong.header['ts'], 'byte by byte', 'pong ts');
    },
  },
  {
    id: 'coalesced-requests',
    section: '1',
    title: 'several frames in one write are all handled, in order',
    async run(context) {
      const { probe, hello, snonce } = await context.open();
      const frames: Buffer[] = [];
      if (hello['auth'] !== 'none') frames.push(encodeFrameBuffer(context.authRequest(snonce)));
      for (let i = 1; i <= 20; i += 1) frames.push(encodeFrameBuffer({ type: 'ping', ts: i }));
      probe.write(Buffer.concat(frames));
      const order = await probe.until(
        () => {
          const pongs = probe.frames.filter((frame) => frame.header.type === 'pong');
          return pongs.length === 20 ? pongs.map((frame) => frame.header['ts']) : undefined;
        },
        '20 pongs',
        context.waitMs,
      );
      expectEqual(
        order,
        Array.from({ length: 20 }, (_, i) => i + 1),
        'the ts of the pongs, in order',
      );
    },
  },
  {
    id: 'largest-header',
    section: '2',
    title: 'a header of exactly 65536 bytes is accepted',
    async run(context) {
      const probe = await context.ready();
      const bare = Buffer.byteLength(JSON.stringify({ type: 'ping', ts: 'big', pad: '' }));
      probe.send({ type: 'ping', ts: 'big', pad: 'p'.repeat(MAX_HEADER_LENGTH - bare) });
      expectEqual((await probe.next({ type: 'pong' }, context.waitMs)).header['ts'], 'big', 'pong ts');
    },
  },
  {
    id: 'largest-body',
    section: '2',
    title: 'a body of exactly 1 MiB is accepted (stdin to cat comes back intact)',
    async run(context) {
      await context.requireTools();
      const probe = await context.ready();
      const input = randomBytes(MAX_BODY_LENGTH);
      probe.send({ type: 'exec', id: 1, argv: ['cat'], stdin: true });
      probe.send({ type: 'stdin', id: 1, eof: true }, input);
      const outcome = await awaitEnd(probe, 1, context.waitMs * 2);
      expectUncapped(outcome, 'cat');
      sameBytes(outcome.stdout, input, "cat's output");
    },
  },
];

// Sections 2 and 8, malformed input: each bad frame gets its error code and the
// connection is closed. Lengths are refused from the 8-byte prefix alone, in the
// order H = 0, H over, B over; framing errors win over authentication.
import { prefixOf, rawFrame } from '../bytes.js';
import { skip } from '../check.js';
import type { Check } from '../check.js';
import { expectFatal } from '../replies.js';
import type { Probe } from '../probe.js';
import type { ServerContext } from '../server-context.js';

interface Malformed {
  readonly id: string;
  readonly title: string;
  readonly bytes: Buffer;
  readonly code: 'PROTOCOL' | 'FRAME_TOO_LARGE';
  /** Sent before authenticating (the error must still be this one, not AUTH_REQUIRED). */
  readonly beforeAuth?: boolean;
  /** Only the 8-byte prefix is sent: the server must not wait for more. */
  readonly prefixOnly?: boolean;
}

const TABLE: readonly Malformed[] = [
  { id: 'header-length-zero', title: 'H = 0 is PROTOCOL', bytes: prefixOf(0, 0), code: 'PROTOCOL', prefixOnly: true },
  {
    id: 'header-too-large',
    title: 'H = 65537 is FRAME_TOO_LARGE, from the prefix alone',
    bytes: prefixOf(65537, 0),
    code: 'FRAME_TOO_LARGE',
    prefixOnly: true,
  },
  {
    id: 'body-too-large',
    title: 'B = 1 MiB + 1 is FRAME_TOO_LARGE, from the prefix alone',
    bytes: prefixOf(15, 1048577),
    code: 'FRAME_TOO_LARGE',
    prefixOnly: true,
  },
  {
    id: 'length-order-zero-first',
    title: 'H = 0 with B over the limit is PROTOCOL (H = 0 is checked first)',
    bytes: prefixOf(0, 0xffffffff),
    code: 'PROTOCOL',
    prefixOnly: true,
  },
  {
    id: 'lengths-both-over',
    title: 'H and B both over the limits is FRAME_TOO_LARGE',
    bytes: prefixOf(0xffffffff, 0xffffffff),
    code: 'FRAME_TOO_LARGE',
    prefixOnly: true,
  },
  { id: 'header-not-json', title: 'a header that is not JSON is PROTOCOL', bytes: rawFrame('hello'), code: 'PROTOCOL' },
  {
    id: 'header-not-object',
    title: 'a header that is a JSON array is PROTOCOL',
    bytes: rawFrame('["ping"]'),
    code: 'PROTOCOL',
  },
  {
    id: 'header-invalid-utf8',
    title: 'a header that is not valid UTF-8 is PROTOCOL',
    bytes: withPrefix(Buffer.from('{"type":"p\xffng"}', 'latin1')),
    code: 'PROTOCOL',
  },
  { id: 'header-no-type', title: 'a header without "type" is PROTOCOL', bytes: rawFrame('{"id":1}'), code: 'PROTOCOL' },
  {
    id: 'header-type-not-string',
    title: 'a "type" that is not a string is PROTOCOL',
    bytes: rawFrame('{"type":5}'),
    code: 'PROTOCOL',
  },
  {
    id: 'header-trailing-garbage',
    title: 'a header with bytes after its JSON object is PROTOCOL',
    bytes: rawFrame('{"type":"ping"}x'),
    code: 'PROTOCOL',
  },
  {
    id: 'member-wrong-type',
    title: 'a known member of the wrong JSON type ("argv": "ls") is PROTOCOL',
    bytes: rawFrame('{"type":"exec","id":1,"argv":"ls"}'),
    code: 'PROTOCOL',
  },
  {
    id: 'before-auth-header',
    title: 'a malformed header before auth is PROTOCOL, not AUTH_REQUIRED',
    bytes: rawFrame('not json'),
    code: 'PROTOCOL',
    beforeAuth: true,
  },
  {
    id: 'before-auth-length',
    title: 'an oversized length before auth is FRAME_TOO_LARGE, not AUTH_REQUIRED',
    bytes: prefixOf(15, 0x7fffffff),
    code: 'FRAME_TOO_LARGE',
    beforeAuth: true,
    prefixOnly: true,
  },
];

/** One check per malformed input. */
export const MALFORMED_CHECKS: ReadonlyArray<Check<ServerContext>> = TABLE.map((entry) => ({
  id: `malformed-${entry.id}`,
  section: '2',
  title: `${entry.title}; the connection is closed`,
  async run(context: ServerContext) {
    let probe: Probe;
    if (entry.beforeAuth) {
      if (!context.authenticates) skip('the server does not authenticate (hello.auth is "none")');
      probe = (await context.open()).probe;
    } else {
      probe = await context.ready();
    }
    probe.write(entry.bytes);
    const why = entry.prefixOnly
      ? ' after the 8-byte prefix alone (lengths are checked before anything more is awaited)'
      : '';
    await expectFatal(probe, entry.code, context.waitMs, why);
  },
}));

function withPrefix(header: Buffer): Buffer {
  return Buffer.concat([prefixOf(header.length, 0), header]);
}

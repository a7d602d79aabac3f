// The torture server's scripted exchanges. The client under test runs each once, with
// the scenario's name as the command; the server answers with correct frames, cut and
// timed as awkwardly as TCP allows, and the client must reproduce the output and
// status exactly.
import { MAX_BODY_LENGTH } from '../../protocol/constants.js';
import { encodeFrameBuffer } from '../../protocol/frame-encoder.js';
import { jsonFormattingScenario } from './json-formatting-scenario.js';
import { pseudoRandomBytes } from './pseudo-random.js';
import { commandReply, expectedRun } from './reply-frames.js';
import type { Ending, ExpectedRun, Output, ReplyFrame } from './reply-frames.js';
import type { CutStyle } from './write-plan.js';

/** One scripted exchange. */
export interface Scenario {
  /** Also the command the client is asked to run. */
  readonly name: string;
  /** The docs/protocol.md section a failure points to. */
  readonly section: string;
  readonly title: string;
  /** How every frame of the exchange (hello and auth-ok included) is cut into writes. */
  readonly cut: CutStyle;
  /** Pause after each write, ms. */
  readonly pauseMs: number;
  /** The frames answering an exec of this scenario with request id `id`. */
  reply(id: number): ReplyFrame[];
  /** What the client must print and return (computed on first use). */
  expected(): ExpectedRun;
  /** Hand-written hello and auth-ok, for scenarios about their formatting. */
  readonly handshake?: {
    hello(nonce: string): ReplyFrame;
    authOk(user: string, proof: string): ReplyFrame;
  };
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');
const out = (value: string): Output => ['stdout', text(value)];
const err = (value: string): Output => ['stderr', text(value)];
const STICKY = '粘包 — sticky packets ü 😀\n';

/** Every scenario, in run order. Outputs are made on first use: importing this is cheap. */
export const SCENARIOS: readonly Scenario[] = [
  scripted('whole-frames', '2', 'each frame in a write of its own, 5 ms apart (the baseline)', 'whole', 5, () => [
    out('hello, world\n'),
    err('to stderr\n'),
  ]),
  scripted('cut-in-prefix', '1', 'every frame cut inside its 8-byte prefix (after 1, 4 and 7 bytes)', 'prefix', 2, () =>
    lines(6),
  ),
  scripted(
    'cut-in-header',
    '1',
    'every frame cut after its prefix, inside its header (in a multi-byte character) and before its last header byte',
    'header',
    2,
    () => lines(4),
    { code: 0 },
    { 'x-torture': '粘包' },
  ),
  scripted(
    'cut-in-body',
    '1',
    'every body cut at its start, after 1 byte, inside a multi-byte character, before its last byte',
    'body',
    2,
    () => [out(STICKY), err(STICKY), out(STICKY.repeat(3))],
  ),
  scripted(
    'straddling-writes',
    '1',
    'every write holds the end of one frame and the first 3 bytes of the next',
    'straddle',
    2,
    () => lines(8),
  ),
  scripted('one-byte-writes', '1', 'every byte in a write of its own', 'every-byte', 1, () => [
    out('one\n'),
    err('byte\n'),
    out('at a time\n'),
  ]),
  scripted('coalesced', '1', 'started, 300 output frames and exit in one write', 'coalesce', 0, () => lines(300)),
  scripted(
    'tiny-bodies',
    '2',
    '2000 one-byte stdout and 300 one-byte stderr bodies, in random pieces',
    'random',
    0,
    tinyBodies,
  ),
  scripted(
    'max-bodies',
    '2',
    'bodies of exactly 1 MiB (3 on stdout, 1 on stderr), in random pieces',
    'random',
    0,
    () => [
      ['stdout', pseudoRandomBytes(MAX_BODY_LENGTH, 11)],
      ['stderr', pseudoRandomBytes(MAX_BODY_LENGTH, 12)],
      ['stdout', pseudoRandomBytes(MAX_BODY_LENGTH, 13)],
      ['stdout', pseudoRandomBytes(MAX_BODY_LENGTH, 14)],
      ['stdout', pseudoRandomBytes(1, 15)],
    ],
  ),
  scripted('interleaved-streams', '4', 'stdout and stderr frames alternating, 200 of each', 'random', 0, () =>
    alternating(200),
  ),
  scripted(
    'binary-bodies',
    '2',
    'bodies with every byte value, one of them the bytes of a whole frame',
    'random',
    0,
    binaryBodies,
  ),
  jsonFormattingScenario(),
  scripted('slow-trickle', '1', 'each frame cut in pieces that arrive 40 ms apart', 'header', 40, () => [
    out('slow\n'),
    err('and\n'),
    out('steady\n'),
  ]),
  scripted('empty-output', '4', 'a command that prints nothing', 'prefix', 1, () => []),
  scripted(
    'exit-code',
    '7',
    "the remote exit code 3 becomes the client's status",
    'straddle',
    1,
    () => [err('failed\n')],
    { code: 3 },
  ),
  scripted(
    'exit-signal',
    '7',
    'a command ended by SIGTERM gives status 128 + 15',
    'body',
    1,
    () => [out('terminated\n')],
    {
      signal: 'SIGTERM',
    },
  ),
  scripted('not-found', '7', 'an error NOT_FOUND instead of started gives status 127', 'prefix', 1, () => [], {
    error: 'NOT_FOUND',
  }),
  scripted('large-output', '5', '8 MiB in bodies of 1 byte to 1 MiB, in random pieces', 'random', 0, () =>
    largeOutput(8 * MAX_BODY_LENGTH),
  ),
];

function scripted(
  name: string,
  section: string,
  title: string,
  cut: CutStyle,
  pauseMs: number,
  makeOutputs: () => readonly Output[],
  ending: Ending = { code: 0 },
  extra: Record<string, unknown> = {},
): Scenario {
  let outputs: readonly Output[] | undefined;
  const made = (): readonly Output[] => (outputs ??= makeOutputs());
  return {
    name,
    section,
    title,
    cut,
    pauseMs,
    reply: (id) => commandReply(id, made(), ending, extra),
    expected: () => expectedRun(made(), ending),
  };
}

function lines(count: number): Output[] {
  return Array.from({ length: count }, (_, i) =>
    i % 5 === 4 ? err(`line ${i} to stderr\n`) : out(`line ${i}: ${STICKY}`),
  );
}

function tinyBodies(): Output[] {
  const outputs: Output[] = [];
  const stdout = pseudoRandomBytes(2000, 3);
  const stderr = pseudoRandomBytes(300, 4);
  for (let i = 0; i < 2000; i += 1) {
    outputs.push(['stdout', stdout.subarray(i, i + 1)]);
    if (i % 7 === 0 && i / 7 < 300) outputs.push(['stderr', stderr.subarray(i / 7, i / 7 + 1)]);
  }
  return outputs;
}

function alternating(count: number): Output[] {
  return Array.from({ length: count * 2 }, (_, i): Output =>
    i % 2 === 0 ? out(`out ${i / 2}\n`) : err(`err ${(i - 1) / 2}\n`),
  );
}

function binaryBodies(): Output[] {
  const every = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));
  const frame = encodeFrameBuffer({ type: 'exit', id: 1, code: 99, signal: null, timedOut: false, truncated: false });
  return [
    ['stdout', every],
    ['stderr', Buffer.from(every).reverse()],
    ['stdout', frame],
    ['stdout', Buffer.from([0, 0, 0, 0])],
  ];
}

function largeOutput(total: number): Output[] {
  const outputs: Output[] = [];
  const sizes = [1, MAX_BODY_LENGTH, 3, 65536, 1000, MAX_BODY_LENGTH - 1, 8191, 300_000];
  for (let i = 0, sent = 0; sent < total; i += 1) {
    const size = Math.min(sizes[i % sizes.length] as number, total - sent);
    outputs.push([i % 9 === 8 ? 'stderr' : 'stdout', pseudoRandomBytes(size, 100 + i)]);
    sent += size;
  }
  return outputs;
}

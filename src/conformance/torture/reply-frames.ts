// The frames a torture scenario answers with: a command's started, output and exit
// (byte totals always right: the torture server is awkward, never wrong), or a header
// written by hand as exact JSON text.
import { constants } from 'node:os';
import { rawFrame } from '../bytes.js';
import { encodeFrameBuffer } from '../../protocol/frame-encoder.js';

/** A frame to send: a header object, or its exact JSON text. */
export interface ReplyFrame {
  readonly header: Readonly<Record<string, unknown>> | string;
  readonly body?: Buffer;
}

/** One piece of output. */
export type Output = readonly ['stdout' | 'stderr', Buffer];

/** How the scripted command ends. */
export type Ending = { readonly code: number } | { readonly signal: string } | { readonly error: string };

/** What the client under test should print and return for a scenario. */
export interface ExpectedRun {
  readonly stdout: Buffer;
  /** undefined: any stderr (the client's own message, e.g. for an error). */
  readonly stderr: Buffer | undefined;
  readonly status: number;
}

/** The bytes of a reply frame. */
export function encodeReply(frame: ReplyFrame): Buffer {
  const body = frame.body ?? Buffer.alloc(0);
  return typeof frame.header === 'string' ? rawFrame(frame.header, body) : encodeFrameBuffer(frame.header, body);
}

/** started, the outputs in order, then exit (or a single error instead of all that). */
export function commandReply(
  id: number,
  outputs: readonly Output[],
  ending: Ending,
  extra: Record<string, unknown> = {},
): ReplyFrame[] {
  if ('error' in ending)
    return [{ header: { type: 'error', code: ending.error, message: 'scripted by the torture server', id } }];
  const total = (stream: string): number =>
    outputs.filter(([name]) => name === stream).reduce((sum, [, bytes]) => sum + bytes.length, 0);
  return [
    { header: { type: 'started', id, pid: 4242 + id, ...extra } },
    ...outputs.map(([type, body]): ReplyFrame => ({ header: { type, id, ...extra }, body })),
    {
      header: {
        type: 'exit',
        id,
        code: 'code' in ending ? ending.code : null,
        signal: 'signal' in ending ? ending.signal : null,
        timedOut: false,
        truncated: false,
        stdoutBytes: total('stdout'),
        stderrBytes: total('stderr'),
        durationMs: 7,
        ...extra,
      },
    },
  ];
}

/** The output and status a client following sections 4 and 7 gives for these frames. */
export function expectedRun(outputs: readonly Output[], ending: Ending): ExpectedRun {
  const joined = (stream: string): Buffer =>
    Buffer.concat(outputs.filter(([name]) => name === stream).map(([, bytes]) => bytes));
  if ('error' in ending) return { stdout: Buffer.alloc(0), stderr: undefined, status: statusOfError(ending.error) };
  const status =
    'code' in ending ? ending.code : 128 + ((constants.signals as Record<string, number>)[ending.signal] ?? 127);
  return { stdout: joined('stdout'), stderr: joined('stderr'), status };
}

function statusOfError(code: string): number {
  if (code === 'NOT_FOUND') return 127;
  if (code === 'DENIED' || code === 'SPAWN_FAILED') return 126;
  return 255;
}

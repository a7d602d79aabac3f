// A decoded stream as people read it (one line per frame: offset, lengths, header,
// body preview; then where and why it stops being valid) and as machines do (JSON).
import type { DumpedFrame, StreamDump, StreamProblem } from './stream-dump.js';

/** The JSON form of a dump (`--json`). */
export interface StreamJson {
  readonly length: number;
  readonly valid: boolean;
  readonly frames: ReadonlyArray<{
    readonly index: number;
    readonly offset: number;
    readonly headerLength: number;
    readonly bodyLength: number;
    readonly header: Readonly<Record<string, unknown>>;
    readonly bodyHex: string;
  }>;
  readonly problem: StreamProblem | null;
}

/** The text listing; `previewBytes` of each body are shown. */
export function formatStream(dump: StreamDump, previewBytes: number): string {
  let text = dump.frames.map((frame) => formatFrame(frame, previewBytes)).join('');
  const { problem } = dump;
  const count = `${dump.frames.length} frame${dump.frames.length === 1 ? '' : 's'}`;
  if (problem === undefined) return `${text}${count}, ${dump.length} bytes: valid\n`;
  const where = `offset ${problem.offset} (frame ${problem.frameIndex}, ${problem.part})`;
  text +=
    problem.kind === 'invalid'
      ? `INVALID at ${where}: ${problem.code ?? 'PROTOCOL'}: ${problem.message}\n`
      : `INCOMPLETE at ${where}: ${problem.message}\n`;
  return `${text}${count} before it, ${dump.length} bytes in all\n`;
}

/** The JSON object for a dump. */
export function streamJson(dump: StreamDump): StreamJson {
  return {
    length: dump.length,
    valid: dump.problem === undefined,
    frames: dump.frames.map((frame) => ({
      index: frame.index,
      offset: frame.offset,
      headerLength: frame.headerLength,
      bodyLength: frame.bodyLength,
      header: frame.header,
      bodyHex: frame.body.toString('hex'),
    })),
    problem: dump.problem ?? null,
  };
}

function formatFrame(frame: DumpedFrame, previewBytes: number): string {
  const body = frame.bodyLength === 0 ? '' : `  body ${preview(frame.body, previewBytes)}`;
  return `#${frame.index}  offset ${frame.offset}  H=${frame.headerLength} B=${frame.bodyLength}  ${JSON.stringify(frame.header)}${body}\n`;
}

/** Printable text as a JSON string; anything else as hex. */
export function preview(body: Buffer, limit: number): string {
  const shown = body.subarray(0, Math.max(0, limit));
  const more = body.length > shown.length ? ` (+${body.length - shown.length} bytes)` : '';
  const text = shown.toString('utf8');
  const printable =
    // eslint-disable-next-line no-control-regex -- control characters make a body not printable
    Buffer.from(text, 'utf8').equals(shown) && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffd]/.test(text);
  return `${printable ? JSON.stringify(text) : `hex ${shown.toString('hex').replace(/(..)(?!$)/g, '$1 ')}`}${more}`;
}

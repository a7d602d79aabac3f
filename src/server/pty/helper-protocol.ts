// What rexecd and the terminal helper say to each other over the helper's stdin and
// stdout, as rexec frames (the protocol layer's encoder and decoder): the only
// descriptors the helper has that its command could inherit are 0, 1 and 2, and
// forkpty replaces those with the terminal, so nothing of this channel reaches the
// command (a fourth pipe would: it cannot be made close-on-exec from JavaScript).
import type { FrameHeader } from '../../protocol/frame.js';

/** What to start: sent once, as the first frame to the helper. */
export interface PtyJob {
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cols: number;
  readonly rows: number;
  readonly term: string;
  readonly uid?: number;
  readonly gid?: number;
}

/** rexecd -> helper. `input` carries keyboard bytes in its body; `eof` sends ^D after them. */
export type ToHelper =
  | ({ readonly type: 'spawn' } & PtyJob)
  | { readonly type: 'input'; readonly eof?: boolean }
  | { readonly type: 'resize'; readonly cols: number; readonly rows: number };

/** helper -> rexecd. `output` carries the terminal's bytes in its body. */
export type FromHelper =
  | { readonly type: 'started'; readonly pid: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'output' }
  | { readonly type: 'exit'; readonly code: number | null; readonly signal: string | null };

/** Reads a helper's frame header as FromHelper; undefined when it is not one. */
export function fromHelper(header: FrameHeader): FromHelper | undefined {
  switch (header.type) {
    case 'started':
      return isPid(header['pid']) ? { type: 'started', pid: header['pid'] } : undefined;
    case 'failed':
      return { type: 'failed', message: String(header['message']) };
    case 'output':
      return { type: 'output' };
    case 'exit': {
      const code = header['code'];
      const signal = header['signal'];
      if (!(code === null || Number.isInteger(code)) || !(signal === null || typeof signal === 'string'))
        return undefined;
      return { type: 'exit', code: code as number | null, signal };
    }
    default:
      return undefined;
  }
}

function isPid(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 1;
}

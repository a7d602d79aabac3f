// `rexec run --json`: the command's output reassembled into one JSON object, text where
// it is valid UTF-8 and base64 where it is not.
import { isUtf8 } from 'node:buffer';
import { DEFAULT_MAX_BUFFER } from '../../../client/index.js';
import type { ExitStatus } from '../../../client/index.js';

/** Most output --json (and the fan-out's --group) holds in memory, both streams together: run()'s default. */
export const JSON_OUTPUT_LIMIT = DEFAULT_MAX_BUFFER;

/** The printed object. */
export interface JsonReport {
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutEncoding: 'utf8' | 'base64';
  readonly stderrEncoding: 'utf8' | 'base64';
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly truncated: boolean;
  readonly durationMs: number;
  /** Only when the server's stdin limit cut the input. */
  readonly stdinTruncated?: true;
}

/** The JSON object for a finished command and its output. */
export function jsonReport(result: ExitStatus, stdout: Buffer, stderr: Buffer): JsonReport {
  const out = encode(stdout);
  const err = encode(stderr);
  return {
    stdout: out.text,
    stderr: err.text,
    stdoutEncoding: out.encoding,
    stderrEncoding: err.encoding,
    code: result.code,
    signal: result.signal,
    timedOut: result.timedOut,
    truncated: result.truncated,
    durationMs: result.durationMs,
    ...(result.stdinTruncated === true ? { stdinTruncated: true as const } : {}),
  };
}

function encode(bytes: Buffer): { text: string; encoding: 'utf8' | 'base64' } {
  return isUtf8(bytes)
    ? { text: bytes.toString('utf8'), encoding: 'utf8' }
    : { text: bytes.toString('base64'), encoding: 'base64' };
}

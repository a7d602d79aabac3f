// `rexec run --json`: the command's output reassembled into one JSON object, text where
// it is valid UTF-8 and base64 where it is not.
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { ExitResult } from '../../../client/index.js';

/** Most output --json holds in memory, both streams together. */
export const JSON_OUTPUT_LIMIT = 64 * 1024 * 1024;

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

/** Collects a command's stdout and stderr up to a shared limit. */
export class OutputCollector {
  readonly #limit: number;
  readonly #onOverflow: () => void;
  #total = 0;
  #overflowed = false;

  /** `onOverflow` is called once when the limit is passed; nothing more is kept then. */
  constructor(limit: number, onOverflow: () => void) {
    this.#limit = limit;
    this.#onOverflow = onOverflow;
  }

  /** True once the output passed the limit. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Starts reading `stream`; the returned function gives what it collected. */
  collect(stream: Readable): () => Buffer {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => {
      if (this.#overflowed) return;
      this.#total += chunk.length;
      if (this.#total > this.#limit) {
        this.#overflowed = true;
        chunks.length = 0;
        this.#onOverflow();
        return;
      }
      chunks.push(chunk);
    });
    return () => Buffer.concat(chunks);
  }
}

/** The JSON object for a finished command and its output. */
export function jsonReport(result: ExitResult, stdout: Buffer, stderr: Buffer): JsonReport {
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

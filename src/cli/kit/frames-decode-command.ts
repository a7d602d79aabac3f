// `rexec frames decode [FILE|-]`: a captured stream (raw, or hex with --hex) as a list
// of frames, ending with where and why it stops being valid.
import { dumpStream } from '../../conformance/stream-dump.js';
import { formatStream, streamJson } from '../../conformance/stream-listing.js';
import { STATUS_FAILURE, STATUS_INVALID_STREAM } from '../shared/exit-status.js';
import { printError } from '../shared/io.js';
import { readInput } from './read-input.js';
import type { CliIo } from '../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../rexec/core.js';

/** The flags of `rexec frames decode`. */
export interface DecodeFlags {
  readonly hex?: boolean;
  readonly json?: boolean;
  readonly preview?: number;
}

/** Decodes the input; 0 when it is whole valid frames, 1 when not, 255 when it cannot be read. */
export async function framesDecodeCommand(file: string, flags: DecodeFlags, io: CliIo): Promise<number> {
  let input: Buffer;
  try {
    input = await readInput(file, io);
  } catch (error) {
    printError(io, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return STATUS_FAILURE;
  }
  let bytes = input;
  if (flags.hex) {
    const text = input.toString('utf8').replace(/\s+/g, '');
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
      printError(
        io,
        `${file === '-' ? 'stdin' : file} is not hex: expected pairs of hex digits (whitespace is ignored)`,
      );
      return STATUS_FAILURE;
    }
    bytes = Buffer.from(text, 'hex');
  }
  const dump = dumpStream(bytes);
  io.stdout.write(flags.json ? `${JSON.stringify(streamJson(dump))}\n` : formatStream(dump, flags.preview ?? 32));
  return dump.problem === undefined ? 0 : STATUS_INVALID_STREAM;
}

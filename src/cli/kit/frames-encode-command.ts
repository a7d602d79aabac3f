// `rexec frames encode --header JSON [--body FILE|-]`: one frame, its header bytes
// exactly as given, checked against section 2 unless --unchecked.
import { writeFile } from 'node:fs/promises';
import { RexecError } from '../../errors.js';
import { MAX_BODY_LENGTH, MAX_HEADER_LENGTH, PREFIX_LENGTH } from '../../protocol/constants.js';
import { parseHeader } from '../../protocol/frame-decoder.js';
import { STATUS_FAILURE } from '../shared/exit-status.js';
import { printError } from '../shared/io.js';
import { readInput } from './read-input.js';
import type { CliIo } from '../shared/io.js';
// Loaded on demand: see core.ts for why this import is here.
import '../rexec/core.js';

/** The flags of `rexec frames encode`. */
export interface EncodeFlags {
  readonly header: string;
  readonly body?: string;
  readonly out?: string;
  readonly hex?: boolean;
  readonly unchecked?: boolean;
}

/** Writes the frame; 0, or 255 with the reason. */
export async function framesEncodeCommand(flags: EncodeFlags, io: CliIo): Promise<number> {
  let body: Buffer;
  try {
    body = flags.body === undefined ? Buffer.alloc(0) : await readInput(flags.body, io);
  } catch (error) {
    printError(
      io,
      `cannot read the body ${flags.body}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
    return STATUS_FAILURE;
  }
  const header = Buffer.from(flags.header, 'utf8');
  const problem = flags.unchecked ? undefined : headerProblem(header, body.length);
  if (problem !== undefined) {
    printError(io, `${problem} (section 2; --unchecked writes it anyway)`);
    return STATUS_FAILURE;
  }
  const prefix = Buffer.alloc(PREFIX_LENGTH);
  prefix.writeUInt32BE(header.length, 0);
  prefix.writeUInt32BE(body.length, 4);
  const frame = Buffer.concat([prefix, header, body]);
  const output = flags.hex ? Buffer.from(`${frame.toString('hex')}\n`) : frame;
  if (flags.out === undefined) {
    io.stdout.write(output);
    return 0;
  }
  try {
    await writeFile(flags.out, output);
  } catch (error) {
    printError(io, `cannot write ${flags.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return STATUS_FAILURE;
  }
  return 0;
}

function headerProblem(header: Buffer, bodyLength: number): string | undefined {
  if (header.length === 0) return 'PROTOCOL: the header is empty';
  if (header.length > MAX_HEADER_LENGTH)
    return `FRAME_TOO_LARGE: the header is ${header.length} bytes, over ${MAX_HEADER_LENGTH}`;
  if (bodyLength > MAX_BODY_LENGTH) return `FRAME_TOO_LARGE: the body is ${bodyLength} bytes, over ${MAX_BODY_LENGTH}`;
  try {
    parseHeader(header);
  } catch (error) {
    if (error instanceof RexecError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return undefined;
}

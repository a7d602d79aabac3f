// `rexec frames`: the commander wiring of `decode` (a captured stream as a list of
// frames) and `encode` (one frame from a header and a body).
import type { Command } from 'commander';
import type { DecodeFlags } from './frames-decode-command.js';
import type { EncodeFlags } from './frames-encode-command.js';
import type { CliIo } from '../shared/io.js';
import { parseCount } from '../shared/arg-parsers.js';

/** Adds `frames decode` and `frames encode` to the program. */
export function addFramesCommand(program: Command, io: CliIo, setStatus: (status: number) => void): void {
  const frames = program
    .command('frames')
    .description('decode a captured byte stream into frames, or encode one frame');

  frames
    .command('decode')
    .description('list the frames of a byte stream and point at the first invalid byte')
    .argument('[file]', 'the stream: a file, or - (the default) for stdin')
    .option('--hex', 'the input is hex text (whitespace ignored), not raw bytes')
    .option('--json', 'print one JSON object (bodies in hex) instead of a listing')
    .option('--preview <bytes>', 'body bytes shown per frame (default 32)', parseCount)
    .addHelpText(
      'after',
      '\nExit status: 0 for a valid stream of whole frames, 1 for an invalid or cut one, 255 on errors.',
    )
    .action(async (file: string | undefined, flags: DecodeFlags) => {
      const { framesDecodeCommand } = await import('./frames-decode-command.js');
      setStatus(await framesDecodeCommand(file ?? '-', flags, io));
    });

  frames
    .command('encode')
    .description('write one frame: the header exactly as given, then the body')
    .requiredOption('--header <json>', 'the header, a JSON object with a string "type"')
    .option('--body <file>', 'the body: a file, or - for stdin (default: empty)')
    .option('--out <file>', 'write the frame to this file instead of stdout')
    .option('--hex', 'write the frame as hex text')
    .option('--unchecked', 'skip the checks of section 2 (to build malformed frames on purpose)')
    .action(async (flags: EncodeFlags) => {
      const { framesEncodeCommand } = await import('./frames-encode-command.js');
      setStatus(await framesEncodeCommand(flags, io));
    });
}

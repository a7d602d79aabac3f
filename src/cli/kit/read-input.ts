// Reading a command's input: a file, or `-` for the program's stdin.
import { readFile } from 'node:fs/promises';
import type { CliIo } from '../shared/io.js';

/** All bytes of `path`, or of stdin when `path` is "-". */
export async function readInput(path: string, io: CliIo): Promise<Buffer> {
  if (path !== '-') return readFile(path);
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}

// Reading a command's output in tests.
import type { Readable } from 'node:stream';
import type { ExecOptions, ExitStatus, RexecClient } from '../../src/client/index.js';

/** All bytes of a stream, once it has ended. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a command to its end and returns its output and exit. */
export async function run(
  client: RexecClient,
  options: ExecOptions,
): Promise<{ stdout: string; stderr: string; exit: ExitStatus }> {
  const remote = client.exec(options);
  const [stdout, stderr, exit] = await Promise.all([readAll(remote.stdout), readAll(remote.stderr), remote.exit]);
  return { stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), exit };
}

/** Resolves when `stream` has produced output containing `text`. */
export function waitForOutput(stream: Readable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString('utf8');
      if (seen.includes(text)) {
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
    stream.once('end', () => reject(new Error(`stream ended without ${JSON.stringify(text)}: ${seen}`)));
  });
}

// Uploading one local file with the client library: opened once, checked to be a
// regular file, streamed in frame-sized reads; the server checks its sha256.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { RexecClient, TransferResult } from '../../../client/index.js';
import { errnoText as reason } from '../../shared/errno-text.js';
import { localFileError, newFileMode } from './local-files.js';

/** How files are copied. */
export interface CopySettings {
  /** Replace existing files (never directories). */
  readonly force: boolean;
  /** Keep modes and modification times exactly. */
  readonly preserve: boolean;
  readonly signal?: AbortSignal;
  /** Bytes of the current file so far. */
  readonly onProgress?: (bytes: number) => void;
  /** A download's size, once the server has said it. */
  readonly onSize?: (size: number) => void;
}

// Reads of a local file, one frame body at a time.
const CHUNK = 1024 * 1024;

/**
 * Uploads a local file to `remote`. Without `preserve` the remote file gets the local
 * one's permission bits less our umask (`mode`, when given, stands for the local mode:
 * a spooled stdin has none of its own).
 */
export async function uploadFile(
  client: RexecClient,
  local: string,
  remote: string,
  settings: CopySettings & { readonly mkdirs: boolean; readonly mode?: number },
): Promise<TransferResult> {
  let handle: FileHandle;
  try {
    handle = await open(local, constants.O_RDONLY);
  } catch (error) {
    throw localFileError(`cannot read ${local}: ${reason(error)}`);
  }
  // A FileHandle's stream holds it open until the stream is destroyed: always destroy it.
  let stream: Readable | undefined;
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw localFileError(`${local} is a directory (use -r to copy it)`);
    if (!info.isFile()) throw localFileError(`${local} is not a regular file`);
    const mode = settings.preserve ? info.mode & 0o7777 : newFileMode(settings.mode ?? info.mode);
    stream = handle.createReadStream({ highWaterMark: CHUNK, autoClose: false, start: 0 });
    return await client.put(stream, remote, {
      size: info.size,
      mode,
      // As scp -p: the modification time goes too.
      ...(settings.preserve ? { mtimeMs: info.mtimeMs } : {}),
      overwrite: settings.force,
      mkdirs: settings.mkdirs,
      signal: settings.signal,
      onProgress: settings.onProgress,
    });
  } finally {
    stream?.destroy();
    await handle.close().catch(() => undefined);
  }
}

// Downloading one file with the client library, the local side as careful as the
// server's: a download is written to a temporary file beside its target and renamed
// into place only once its sha256 matched, so an interrupted or corrupted copy never
// leaves a partial file under the target's name.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, rename, unlink, utimes } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RexecClient, TransferResult } from '../../../client/index.js';
import { errnoText as reason } from '../../shared/errno-text.js';
import { outputError } from '../../shared/output-failure.js';
import { localFileError } from './local-files.js';
import type { CopySettings } from './upload.js';

/**
 * Downloads `remote` to the local file `local` (through a temporary file and a rename).
 * An existing `local` is refused unless `force`; a directory always is.
 */
export async function downloadFile(
  client: RexecClient,
  remote: string,
  local: string,
  settings: CopySettings,
): Promise<TransferResult> {
  const existing = await lstat(local).catch(() => undefined);
  if (existing?.isDirectory()) throw localFileError(`${local} is a directory`);
  if (existing !== undefined && !settings.force) throw localFileError(`${local} already exists (use -f to overwrite)`);
  const file = await client.get(remote, { signal: settings.signal });
  settings.onSize?.(file.size);
  const temporary = join(dirname(local), `.rexec-${randomBytes(8).toString('hex')}.tmp`);
  // Without -p the new file gets the remote one's permission bits less our umask (open()
  // applies the umask), as cp and scp do: a private file stays private.
  const createMode = settings.preserve ? 0o600 : file.mode & 0o777;
  let handle: FileHandle;
  try {
    handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, createMode);
  } catch (error) {
    file.stream.destroy();
    await file.done.catch(() => undefined);
    throw localFileError(`cannot write in ${dirname(local)}: ${reason(error)}`);
  }
  let placed = false;
  const sink = handle.createWriteStream({ autoClose: false });
  try {
    let writeError: unknown;
    sink.once('error', (error) => (writeError = error));
    try {
      await pipeline(file.stream, counter(settings.onProgress), sink);
    } catch (error) {
      if (writeError !== undefined) throw localFileError(`cannot write ${local}: ${reason(writeError)}`);
      // The stream ends early when the transfer failed: `done` says why.
      await file.done;
      throw localFileError(`cannot write ${local}: ${reason(error)}`);
    }
    const result = await file.done;
    await handle.sync();
    // Never setuid or setgid: a server must not plant such a file through us (scp -p
    // keeps them; a downloaded program should be made so by hand, knowingly).
    if (settings.preserve) await handle.chmod(file.mode & 0o1777);
    // The stream holds the handle until it is destroyed (which may close it).
    sink.destroy();
    await handle.close().catch(() => undefined);
    if (settings.preserve) await utimes(temporary, file.mtimeMs / 1000, file.mtimeMs / 1000);
    if (settings.force) {
      await rename(temporary, local);
    } else {
      try {
        await link(temporary, local);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          throw localFileError(`${local} already exists (use -f to overwrite)`);
        throw error;
      }
      await unlink(temporary);
    }
    placed = true;
    return result;
  } finally {
    sink.destroy();
    await handle.close().catch(() => undefined);
    if (!placed) await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Downloads `remote` to a stream (stdout); resolves once `done` matched. A write error
 * of `output` is an OutputError, whatever the transfer's end then says (it was aborted
 * because of it).
 */
export async function downloadTo(
  client: RexecClient,
  remote: string,
  output: Writable,
  settings: CopySettings,
): Promise<TransferResult> {
  const file = await client.get(remote, { signal: settings.signal });
  settings.onSize?.(file.size);
  let writeError: unknown;
  const onError = (error: unknown): void => {
    writeError ??= error;
  };
  output.on('error', onError);
  try {
    try {
      await pipeline(file.stream, counter(settings.onProgress), output, { end: false });
    } catch (error) {
      if (writeError !== undefined) {
        await file.done.catch(() => undefined);
        throw outputError(writeError);
      }
      // The stream ends early when the transfer failed: `done` says why.
      await file.done;
      throw localFileError(`cannot write the output: ${reason(error)}`);
    }
    const result = await file.done;
    if (writeError !== undefined) throw outputError(writeError);
    return result;
  } finally {
    output.off('error', onError);
  }
}

// Counts bytes on their way through, for the progress line.
function counter(onProgress: ((bytes: number) => void) | undefined): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onProgress?.(bytes);
      callback(null, chunk);
    },
  });
}

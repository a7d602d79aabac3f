// The upload half of `rexec cp`: every local source found first (files, directories
// with -r, stdin spooled), so that the progress line knows the whole size, then one
// file at a time.
import { posix } from 'node:path';
import type { TransferResult } from '../../../client/index.js';
import { RexecError } from '../../../errors.js';
import type { CopyPlan } from './cp-args.js';
import { remoteDestination } from './cp-args.js';
import type { CopyContext } from './copy.js';
import { existsOnServer } from './file-failure.js';
import {
  isLocalDirectory,
  lastComponent,
  localFileError,
  localName,
  localSource,
  spool,
  walkDirectory,
} from './local-files.js';
import { uploadFile } from './upload.js';
import type { CopySettings } from './upload.js';

/** Uploads the plan's sources. */
export async function uploadAll(copy: CopyContext, plan: Extract<CopyPlan, { direction: 'upload' }>): Promise<void> {
  if (plan.sources[0] === '-') {
    await uploadStdin(copy, plan.target);
    return;
  }
  const jobs: Array<{ name: string; size: number; run: () => Promise<unknown> }> = [];
  for (const source of plan.sources) {
    const name = localName(source);
    if (copy.flags.recursive === true && (await isLocalDirectory(source))) {
      const files = await walkDirectory(source, (path, why) =>
        copy.fail(path, localFileError(`${path}: ${why} (skipped)`)),
      );
      for (const file of files) {
        const remote = remoteDestination(plan, name, file.relative);
        const settings = { ...copy.settings(), mkdirs: true };
        jobs.push({ name: file.path, size: file.size, run: () => put(copy, file.path, remote, settings) });
      }
      continue;
    }
    try {
      const { size } = await localSource(source);
      const remote = remoteDestination(plan, name);
      jobs.push({ name: source, size, run: () => uploadOne(copy, source, remote, plan.intoDirectory) });
    } catch (error) {
      copy.fail(source, error);
    }
  }
  copy.progress.setTotal(jobs.reduce((sum, job) => sum + job.size, 0));
  for (const job of jobs) {
    if (copy.stopped) return;
    await copy.one(job.name, job.size, job.run);
  }
}

// A single file to a target that does not end in "/": if the server says it exists
// (or, with -f, that it is a directory), the target may be a directory: try inside it.
async function uploadOne(copy: CopyContext, local: string, remote: string, intoDirectory: boolean): Promise<unknown> {
  const settings = { ...copy.settings(), mkdirs: intoDirectory };
  try {
    return await uploadFile(copy.client, local, remote, settings);
  } catch (error) {
    const inTheWay =
      error instanceof RexecError &&
      (error.code === 'EXISTS' || (error.code === 'BAD_REQUEST' && copy.flags.force === true));
    if (intoDirectory || !inTheWay || error.id === undefined) throw existsOnServer(error, remote);
    const inside = posix.join(remote, lastComponent(local));
    try {
      return await uploadFile(copy.client, local, inside, { ...settings, mkdirs: false });
    } catch (retry) {
      // Not a directory after all: the first answer is the one that explains.
      if (retry instanceof RexecError && (retry.code === 'NOT_FOUND' || retry.code === 'DENIED'))
        throw existsOnServer(error, remote);
      throw existsOnServer(retry, inside);
    }
  }
}

async function uploadStdin(copy: CopyContext, remote: string): Promise<void> {
  let spooled;
  try {
    spooled = await spool(copy.io.stdin, copy.settings().signal);
  } catch (error) {
    copy.fail('-', error);
    return;
  }
  try {
    const { size } = await localSource(spooled.path);
    // Like a file a program writes (`cat > file`): 0666 less the umask.
    const settings = { ...copy.settings(), preserve: false, mkdirs: false, mode: 0o666 };
    await copy.one(':' + remote, size, () => put(copy, spooled.path, remote, settings));
  } finally {
    await spooled.remove();
  }
}

// An upload whose EXISTS says which server path was in the way.
async function put(
  copy: CopyContext,
  local: string,
  remote: string,
  settings: CopySettings & { readonly mkdirs: boolean; readonly mode?: number },
): Promise<TransferResult> {
  try {
    return await uploadFile(copy.client, local, remote, settings);
  } catch (error) {
    throw existsOnServer(error, remote);
  }
}

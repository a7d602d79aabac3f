// The download half of `rexec cp`: one file to a path or to stdout, several into a
// directory, and with -r a server directory listed with find and copied below the
// target, never outside it.
import { join, posix, resolve, sep } from 'node:path';
import type { CopyPlan } from './cp-args.js';
import type { CopyContext } from './copy.js';
import { downloadFile, downloadTo } from './download.js';
import { directoryNeedsR } from './file-failure.js';
import { isLocalDirectory, lastComponent, localFileError, makeLocalDirectory } from './local-files.js';
import { listRemote, unsafeListedPath } from './remote-list.js';

/** Downloads the plan's sources. */
export async function downloadAll(
  copy: CopyContext,
  plan: Extract<CopyPlan, { direction: 'download' }>,
): Promise<void> {
  const { target } = plan;
  const recursive = copy.flags.recursive === true;
  if (target === '-') {
    const [remote] = plan.sources as [string];
    await copy.one(`:${remote}`, undefined, () =>
      directoryNeedsR(downloadTo(copy.client, remote, copy.io.stdout, copy.settings())),
    );
    return;
  }
  const targetIsDirectory = await isLocalDirectory(target);
  if ((plan.sources.length > 1 || recursive) && !targetIsDirectory) {
    if (recursive) {
      try {
        await makeLocalDirectory(target);
      } catch (error) {
        copy.fail(target, error);
        return;
      }
    } else {
      copy.fail(target, localFileError(`${target} is not a directory (several files go into a directory)`));
      return;
    }
  }
  const into = targetIsDirectory || plan.sources.length > 1 || recursive;
  for (const remote of plan.sources) {
    if (copy.stopped) return;
    const name = lastComponent(remote);
    if (into && (name === '.' || name === '..')) {
      // Its name on the server is unknown here, and ".." would lead out of the target.
      copy.fail(
        `:${remote}`,
        localFileError(`:${remote}: ends in "${name}": name the directory itself (the copy takes its name)`),
      );
      continue;
    }
    const local = into ? join(target, name) : target;
    if (recursive) await downloadTree(copy, remote, local);
    else
      await copy.one(`:${remote}`, undefined, () =>
        directoryNeedsR(downloadFile(copy.client, remote, local, copy.settings())),
      );
  }
}

async function downloadTree(copy: CopyContext, remote: string, local: string): Promise<void> {
  let entries;
  try {
    entries = await listRemote(copy.client, remote, copy.settings().signal);
  } catch (error) {
    copy.fail(`:${remote}`, error);
    return;
  }
  // The listing is the server's word: nothing it names may land outside `local`
  // (a hostile server answering "../../.bashrc", as against scp in CVE-2019-6111).
  const base = resolve(local);
  const below = base.endsWith(sep) ? base : base + sep;
  for (const entry of entries) {
    if (copy.stopped) return;
    const unsafe = entry.relative === '' ? undefined : unsafeListedPath(entry.relative);
    const to = entry.relative === '' ? local : join(local, ...entry.relative.split('/'));
    const inside = resolve(to) === base || resolve(to).startsWith(below);
    if (unsafe !== undefined || !inside) {
      const listed = JSON.stringify(entry.relative);
      const why = unsafe ?? `would be written outside ${local}`;
      copy.fail(`:${remote}`, localFileError(`:${remote}: the server listed ${listed}, which ${why}: not copied`));
      continue;
    }
    const from = entry.relative === '' ? remote : posix.join(remote, entry.relative);
    if (entry.type === 'd') {
      try {
        await makeLocalDirectory(to);
      } catch (error) {
        copy.fail(to, error);
      }
    } else if (entry.type === 'f' || entry.type === 'l') {
      await copy.one(`:${from}`, undefined, () => downloadFile(copy.client, from, to, copy.settings()));
    } else {
      copy.fail(`:${from}`, localFileError(`:${from} is not a regular file (skipped)`));
    }
  }
}

// Who reads and writes a user's files: rexecd itself when the policy runs commands as
// rexecd's own user outside any sandbox, otherwise the file helper started under the
// policy's runAs and sandbox, so that a transfer can do nothing `cat` could not
// (docs/protocol.md section 9: "the same identity and confinement as commands").
import { realpathSync } from 'node:fs';
import { bundledProgram } from '../bundled-program.js';
import { RexecError } from '../../errors.js';
import type { UserPolicy } from '../policy/user-policy.js';
import type { ConfinementResult } from '../confinement.js';
import { openHelperGet, openHelperPut } from './helper-files.js';
import type { HelperLaunch } from './helper-files.js';
import { openLocalGet, openLocalPut } from './local-files.js';
import type { OpenedGet, OpenedPut, PutJob } from './local-files.js';
import { checkLinkOwners, confirmSameFile } from './link-owners.js';
import type { FileScope } from './target.js';

/** Opens a user's transfers. */
export interface FileAccess {
  /** Whether the file helper does the I/O (for the log). */
  readonly viaHelper: boolean;
  /** `signal` gives the opening up (the helper is ended): the connection closed, or the server stops. */
  openPut(job: PutJob, signal?: AbortSignal): Promise<OpenedPut>;
  openGet(id: number, path: string, signal?: AbortSignal): Promise<OpenedGet>;
}

/** True when the policy's identity or confinement differs from rexecd's own. */
export function needsHelper(policy: UserPolicy): boolean {
  if (policy.sandbox === 'bwrap') return true;
  const runAs = policy.runAs;
  if (runAs === undefined) return false;
  return runAs.uid !== process.getuid?.() || runAs.gid !== process.getgid?.();
}

/**
 * The file access for one user's policy; `env` is its commands' base environment,
 * `confine` gives a helper the user's cgroup and OOM score as it gives a command.
 */
export function fileAccessFor(
  policy: UserPolicy,
  env: Readonly<Record<string, string>>,
  graceMs: number,
  confine: (id: number) => ConfinementResult = () => undefined,
): FileAccess {
  const scope: FileScope = { root: policy.root, scope: policy.filesScope, filesDir: policy.filesDir };
  const opener = needsHelper(policy) ? helperOpener(policy, scope, env, graceMs, confine) : localOpener(scope);
  // Whose links a transfer follows freely: the account that does the I/O.
  const follower = policy.runAs?.uid ?? process.getuid?.() ?? -1;
  return {
    viaHelper: opener.viaHelper,
    async openPut(job, signal) {
      await checkLinkOwners(scope, 'put', job.path, job.id, follower);
      return opener.openPut(job, signal);
    },
    async openGet(id, path, signal) {
      const checked = await checkLinkOwners(scope, 'get', path, id, follower);
      const opened = await opener.openGet(id, path, signal);
      try {
        confirmSameFile(checked, opened.identity, path, id);
      } catch (error) {
        opened.close();
        throw error;
      }
      return opened;
    },
  };
}

function localOpener(scope: FileScope): FileAccess {
  return {
    viaHelper: false,
    openPut: (job) => openLocalPut(scope, job),
    openGet: (id, path) => openLocalGet(scope, id, path),
  };
}

function helperOpener(
  policy: UserPolicy,
  scope: FileScope,
  env: Readonly<Record<string, string>>,
  graceMs: number,
  confine: (id: number) => ConfinementResult,
): FileAccess {
  const launch = (id: number, signal: AbortSignal | undefined): HelperLaunch => ({
    helperPath: helperPath(id),
    nodePath: realpathSync(process.execPath),
    cwd: policy.root,
    env,
    uid: policy.runAs?.uid,
    gid: policy.runAs?.gid,
    sandboxRoot: policy.sandbox === 'bwrap' ? policy.root : undefined,
    tmpBytes: policy.tmpBytes,
    rlimits: helperRlimits(policy),
    graceMs,
    confine,
    ...(signal === undefined ? {} : { signal }),
  });
  return {
    viaHelper: true,
    openPut: async (job, signal) => openHelperPut(launch(job.id, signal), scope, job),
    openGet: async (id, path, signal) => openHelperGet(launch(id, signal), scope, id, path),
  };
}

// The policy's per-process limits, but for address space and CPU time: those bound a
// student's programs, while the helper is rexecd's own code with bounded memory, and a
// large file legitimately takes CPU seconds to hash and copy. File size is checked
// exactly before a put starts (limits.fileSizeBytes), and nproc/openFiles still apply.
function helperRlimits(policy: UserPolicy): UserPolicy['rlimits'] {
  const { addressSpaceBytes: _as, cpuSeconds: _cpu, ...rest } = policy.rlimits;
  return rest;
}

function helperPath(id: number): string {
  const path = bundledProgram('file-helper.mjs');
  if (path !== undefined) return path;
  throw new RexecError(
    'SPAWN_FAILED',
    'the file helper (dist/bundle/file-helper.mjs) is missing: run "npm run build"',
    { id },
  );
}

// Start-up checks of a lab setup: rexecd refuses to start rather than run commands
// with less protection than the policy asks for (no silent fall-back).
import { spawnSync } from 'node:child_process';
import { RexecError } from '../../errors.js';
import { BWRAP, bwrapArgs, PRLIMIT, prlimitArgs, SETPRIV, setprivArgs } from '../launch.js';
import { controllersFor } from '../cgroups/limits.js';
import { ownOomScoreAdj } from '../oom-score.js';
import type { UserPolicy } from './user-policy.js';

/** Throws CONFIG when a policy cannot be enforced on this machine as rexecd runs. */
export function preflight(policies: readonly UserPolicy[], underPolicy: boolean): void {
  const uid = process.getuid?.() ?? -1;
  for (const policy of new Set(policies)) {
    if (underPolicy && uid === 0 && policy.runAs === undefined) {
      throw new RexecError(
        'CONFIG',
        'refusing to run commands as root under a policy: set "runAs" to the lab account ' +
          '(or {"user": "root"} if you really mean root)',
      );
    }
    if (policy.runAs !== undefined && uid !== 0 && policy.runAs.uid !== uid) {
      throw new RexecError('CONFIG', `runAs ${policy.runAs.user} needs rexecd to run as root (it runs as uid ${uid})`);
    }
    const cgroups = controllersFor(policy.cgroupLimits).length > 0;
    if (cgroups && uid !== 0) {
      throw new RexecError(
        'CONFIG',
        'limits.memoryBytes, maxProcesses and cpuWeight are enforced with cgroups, which need rexecd ' +
          `to run as root (it runs as uid ${uid})`,
      );
    }
    // As root, the runAs switch happens in the launch chain when a preamble comes first.
    if (uid === 0 && policy.runAs !== undefined && (cgroups || ownOomScoreAdj() < 0)) {
      const argv = [SETPRIV, ...setprivArgs(policy.runAs), '--', '/bin/true'];
      check(
        argv,
        { ...policy, runAs: undefined },
        'setpriv (util-linux) is needed to run commands as the runAs account',
      );
    }
    const limits = prlimitArgs(policy.rlimits);
    if (limits.length > 0)
      check([PRLIMIT, ...limits, '--', '/bin/true'], policy, 'prlimit (util-linux) is needed for the resource limits');
    if (policy.sandbox === 'bwrap') {
      check(
        [BWRAP, ...bwrapArgs(policy.root, policy.root, [], policy.tmpBytes), '--', '/bin/true'],
        policy,
        'sandbox "bwrap" is set but bubblewrap does not work here (install the bubblewrap package; it needs user or ' +
          "root namespaces, and --size for sized tmpfs, which Debian 12's bubblewrap 0.8 has)",
      );
    }
  }
}

function check(argv: readonly string[], policy: UserPolicy, problem: string): void {
  const [file, ...args] = argv as [string, ...string[]];
  const result = spawnSync(file, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 10_000,
    env: { PATH: policy.searchPath.join(':') },
    ...(policy.runAs === undefined ? {} : { uid: policy.runAs.uid, gid: policy.runAs.gid }),
  });
  if (result.error !== undefined || result.status !== 0) {
    const detail = result.error?.message ?? result.stderr?.toString().trim() ?? `status ${result.status}`;
    throw new RexecError('CONFIG', `${problem}: ${detail}`);
  }
}

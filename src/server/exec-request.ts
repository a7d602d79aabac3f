// Turns a valid `exec` request into what to spawn, applying the user's policy in the
// order of docs/protocol.md section 8's precedence: DENIED (shell, env, cwd, allowlist),
// then NOT_FOUND / SPAWN_FAILED. (BAD_REQUEST, SHUTTING_DOWN, DUPLICATE_ID and BUSY
// come first and are the connection's to check.) A refusal names the rule.
import { resolve } from 'node:path';
import { RexecError } from '../errors.js';
import type { ExecRequest } from '../protocol/messages.js';
import { commandEnvironment } from './environment.js';
import { resolveCwd, resolveExecutable } from './paths.js';
import type { UserPolicy } from './policy/user-policy.js';
import type { SpawnSpec } from './spawn.js';

/**
 * Checks a request against the policy and resolves its cwd and executable. Throws the
 * request's error; asynchronous only when a cwd must be resolved on the file system.
 * `baseEnv` is the policy's own base environment (PATH, HOME, LANG).
 */
export function prepareExec(
  request: ExecRequest,
  policy: UserPolicy,
  baseEnv: Readonly<Record<string, string>>,
): SpawnSpec | Promise<SpawnSpec> {
  const { id } = request;
  if (request.command !== undefined && !policy.shell) {
    throw new RexecError('DENIED', 'shell commands are not allowed here (rule: shell; rexecd --allow-shell)', {
      id,
      rule: 'shell',
    });
  }
  if (policy.envAllow !== '*') {
    const allowed = policy.envAllow;
    const refused = request.env.find(([name]) => !allowed.has(name));
    if (refused !== undefined) {
      throw new RexecError('DENIED', `setting ${refused[0]} is not allowed (rule: env.allow)`, {
        id,
        rule: 'env.allow',
      });
    }
  }
  // The allowlist is checked before the cwd is looked at, so that a refused command
  // learns nothing about which directories exist (DENIED before SPAWN_FAILED).
  if (request.argv !== undefined) {
    const lexicalCwd =
      request.cwd === undefined || request.cwd === '' ? policy.root : resolve(policy.root, request.cwd);
    checkAllowed(request.argv[0] as string, lexicalCwd, policy, id);
  }
  const env = commandEnvironment(baseEnv, request.env, id);
  Object.assign(env, policy.envSet);
  if (request.cwd === undefined || request.cwd === '') return specFor(request, policy, policy.root, env);
  return resolveCwd(policy.root, request.cwd, id).then((cwd) => specFor(request, policy, cwd, env));
}

function specFor(request: ExecRequest, policy: UserPolicy, cwd: string, env: Record<string, string>): SpawnSpec {
  const { id } = request;
  const common = {
    id,
    cwd,
    env,
    // On a terminal, input is the keyboard: always open; output is one stream.
    stdin: request.stdin || request.pty !== undefined,
    merge: request.merge && request.pty === undefined,
    ...(request.pty === undefined ? {} : { pty: request.pty }),
    rlimits: policy.rlimits,
    ...(policy.sandbox === 'bwrap' ? { sandboxRoot: policy.root, sandboxTmpBytes: policy.tmpBytes } : {}),
    ...(policy.runAs === undefined ? {} : { uid: policy.runAs.uid, gid: policy.runAs.gid }),
  };
  if (request.command !== undefined) {
    return { ...common, file: '/bin/sh', args: ['-c', request.command] };
  }
  const [name, ...args] = request.argv as readonly [string, ...string[]];
  const file = resolveExecutable(name, cwd, policy.searchPath.join(':'), id);
  return { ...common, file, args, argv0: name };
}

// The allowlist narrows what may be typed: a name must be listed (and is then found
// only in the policy's path); a path must be listed exactly.
function checkAllowed(name: string, cwd: string, policy: UserPolicy, id: number): void {
  const { allow } = policy;
  if (allow === '*') return;
  const listed = name.includes('/') ? allow.paths.has(resolve(cwd, name)) : allow.names.has(name);
  if (!listed) throw new RexecError('DENIED', `${name} is not an allowed command (rule: allow)`, { id, rule: 'allow' });
}

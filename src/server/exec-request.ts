// Turns a valid `exec` request into what to spawn, applying the server's policy in the
// order of PROTOCOL.md section 8's precedence: DENIED (shell, env, cwd), then
// NOT_FOUND / SPAWN_FAILED. (BAD_REQUEST, SHUTTING_DOWN, DUPLICATE_ID and BUSY come
// first and are the connection's to check.)
import { RexecError } from '../errors.js';
import type { ExecRequest } from '../protocol/messages.js';
import { commandEnvironment, SEARCH_PATH } from './environment.js';
import { resolveCwd, resolveExecutable } from './paths.js';
import type { SpawnSpec } from './spawn.js';

/** What the policy needs to know. */
export interface ExecPolicy {
  readonly root: string;
  readonly allowShell: boolean;
  readonly baseEnv: Readonly<Record<string, string>>;
}

/**
 * Checks a request against the policy and resolves its cwd and executable. Throws the
 * request's error; asynchronous only when a cwd must be resolved on the file system.
 */
export function prepareExec(request: ExecRequest, policy: ExecPolicy): SpawnSpec | Promise<SpawnSpec> {
  const { id } = request;
  if (request.command !== undefined && !policy.allowShell) {
    throw new RexecError('DENIED', 'this server does not run shell commands (start rexecd with --allow-shell)', {
      id,
    });
  }
  const env = commandEnvironment(policy.baseEnv, request.env, id);
  if (request.cwd === undefined || request.cwd === '') return specFor(request, policy.root, env);
  return resolveCwd(policy.root, request.cwd, id).then((cwd) => specFor(request, cwd, env));
}

function specFor(request: ExecRequest, cwd: string, env: Record<string, string>): SpawnSpec {
  const { id } = request;
  const common = { id, cwd, env, stdin: request.stdin, merge: request.merge };
  if (request.command !== undefined) {
    return { ...common, file: '/bin/sh', args: ['-c', request.command] };
  }
  const [name, ...args] = request.argv as readonly [string, ...string[]];
  const file = resolveExecutable(name, cwd, SEARCH_PATH, id);
  return { ...common, file, args, argv0: name };
}

// How a refused request is audited (audit.ts), decided from the error's code and rule,
// never from its message: a message may be reworded, and a refusal must not stop being
// audited because of it.
import { RexecError } from '../errors.js';

/**
 * `denied`: a policy said no (DENIED, or BUSY from a per-user rule); `refused`: the
 * request itself, the file system or the system refused (audited as the request's own
 * event); `none`: the connection's state refused (SHUTTING_DOWN, DUPLICATE_ID, BUSY on
 * the connection's own limit), which the client can repeat at no cost: not audited.
 */
export type RefusalAudit = 'denied' | 'refused' | 'none';

/** True for a refusal by the policy: DENIED, or a limit named by its rule. */
export function isPolicyRefusal(error: unknown): error is RexecError {
  return (
    error instanceof RexecError && (error.code === 'DENIED' || (error.code === 'BUSY' && error.rule !== undefined))
  );
}

/**
 * An exec that got no process: refused for a reason of its own when it was malformed,
 * its program is missing or the system would not start it (anything not a RexecError
 * is a failed spawn).
 */
export function execRefusal(error: unknown): RefusalAudit {
  if (isPolicyRefusal(error)) return 'denied';
  const code = error instanceof RexecError ? error.code : 'SPAWN_FAILED';
  return code === 'BAD_REQUEST' || code === 'NOT_FOUND' || code === 'SPAWN_FAILED' ? 'refused' : 'none';
}

/** A put or get that never started: refused when the file system (or the request) said no. */
export function transferRefusal(error: unknown): RefusalAudit {
  if (isPolicyRefusal(error)) return 'denied';
  if (!(error instanceof RexecError)) return 'none';
  return error.code === 'SHUTTING_DOWN' || error.code === 'DUPLICATE_ID' || error.code === 'BUSY' ? 'none' : 'refused';
}

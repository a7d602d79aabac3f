// Every check of a server, in run order: the handshake first (its failing
// authentications kept apart, so no address lockout is reached), then framing,
// requests, and the ends of connections.
import type { Check } from '../check.js';
import type { ServerContext } from '../server-context.js';
import { CLOSING_CHECKS } from './closing-checks.js';
import { CONCURRENCY_CHECKS } from './concurrency-checks.js';
import { EXEC_CHECKS } from './exec-checks.js';
import { FRAMING_CHECKS } from './framing-checks.js';
import { HANDSHAKE_CHECKS } from './handshake-checks.js';
import { MALFORMED_CHECKS } from './malformed-checks.js';
import { POLICY_CHECKS } from './policy-checks.js';
import { REQUEST_ERROR_CHECKS } from './request-error-checks.js';
import { STDIN_SIGNAL_CHECKS } from './stdin-signal-checks.js';

/** All server checks. */
export const SERVER_CHECKS: ReadonlyArray<Check<ServerContext>> = [
  ...HANDSHAKE_CHECKS,
  ...FRAMING_CHECKS,
  ...MALFORMED_CHECKS,
  ...EXEC_CHECKS,
  ...STDIN_SIGNAL_CHECKS,
  ...REQUEST_ERROR_CHECKS,
  ...CONCURRENCY_CHECKS,
  ...POLICY_CHECKS,
  ...CLOSING_CHECKS,
];

export { BUSY_CHECK_MAX_CONCURRENT } from './concurrency-checks.js';

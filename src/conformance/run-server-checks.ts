// `rexec conformance server`: reads the server's hello once, then runs every check
// (or those chosen) against it, each on fresh connections and within a deadline.
import { RexecError } from '../errors.js';
import type { FrameHeader } from '../protocol/frame.js';
import { parseServerMessage } from '../protocol/messages.js';
import type { HelloMessage } from '../protocol/messages.js';
import type { CheckResult } from './check.js';
import { Probe } from './probe.js';
import { runChecks } from './run-checks.js';
import { selectById } from './select-checks.js';
import { SERVER_CHECKS } from './server-checks/index.js';
import { DEFAULT_WAIT_MS, ServerContext } from './server-context.js';
import type { ServerCheckOptions, SharedProbes } from './server-context.js';

/** Options of a server run. */
export interface ServerRunOptions extends ServerCheckOptions {
  /** Check ids (or prefixes such as "malformed") to run; all when empty. */
  readonly only?: readonly string[] | undefined;
  /** Longest one check may take (default: 6 waits, at least 60 s). */
  readonly checkDeadlineMs?: number | undefined;
  /** Progress: called with each result as it comes. */
  readonly onResult?: ((result: CheckResult) => void) | undefined;
}

/** The outcome of a run. */
export interface ServerReport {
  readonly target: string;
  /** `hello.server`, when a hello arrived. */
  readonly server: string | undefined;
  readonly results: readonly CheckResult[];
}

/**
 * Runs the checks. Rejects with a RexecError only when no check can run at all:
 * CONNECT_FAILED (nothing listens), KEY_FILE (the server authenticates and no key was
 * given), CONFIG (an unknown name in `only`). A broken hello fails the `hello` check.
 */
export async function runServerChecks(options: ServerRunOptions): Promise<ServerReport> {
  const checks = selectById(SERVER_CHECKS, options.only ?? []);
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  const target = `${options.target.host}:${options.target.port}`;
  const first = await firstHello(options, waitMs);
  if ('broken' in first) {
    const results = checks.map((check): CheckResult => {
      const failed = check.id === 'hello';
      return {
        id: check.id,
        section: check.section,
        title: check.title,
        status: failed ? 'fail' : 'skip',
        reason: failed ? first.broken : 'needs a valid hello',
        durationMs: 0,
      };
    });
    for (const result of results) options.onResult?.(result);
    return { target, server: undefined, results };
  }
  const { hello } = first;
  if (hello.auth !== 'none' && options.key === undefined) {
    throw new RexecError('KEY_FILE', `${target} authenticates (hmac-sha256): give its key file with --key-file`);
  }
  const shared: SharedProbes = {};
  const results = await runChecks(checks, {
    contextFor: () => new ServerContext({ ...options, waitMs }, hello, shared),
    release: (context) => context.closeAll(),
    checkDeadlineMs: options.checkDeadlineMs ?? Math.max(60_000, 6 * waitMs),
    onResult: options.onResult,
  });
  return { target, server: hello.server, results };
}

async function firstHello(
  options: ServerCheckOptions,
  waitMs: number,
): Promise<{ hello: HelloMessage } | { broken: string }> {
  const probe = await Probe.connect(options.target, waitMs);
  try {
    let header: FrameHeader;
    try {
      header = (await probe.next({}, waitMs)).header;
    } catch (error) {
      return { broken: (error as Error).message };
    }
    if (header.type === 'error' && header['code'] === 'TOO_MANY_CONNECTIONS') {
      throw new RexecError(
        'TOO_MANY_CONNECTIONS',
        `${options.target.host}:${options.target.port} is full: try again later`,
      );
    }
    let message;
    try {
      message = parseServerMessage(header);
    } catch (error) {
      return { broken: `the first frame is not a valid hello: ${(error as Error).message}` };
    }
    if (message?.type !== 'hello') return { broken: `the first frame is ${JSON.stringify(header)}, not a hello` };
    return { hello: message };
  } finally {
    probe.destroy();
  }
}

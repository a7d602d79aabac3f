// Runs checks one after another, each with a fresh context and a deadline of its own,
// and turns how each ended into a result. A check that overruns fails; its context's
// connections are closed either way.
import { CheckFailure, CheckSkipped } from './check.js';
import type { Check, CheckResult } from './check.js';
import { withDeadline } from './deadline.js';

/** What runChecks needs besides the checks. */
export interface RunChecksOptions<Context> {
  /** A fresh context for each check. */
  readonly contextFor: (check: Check<Context>) => Context;
  /** Called after each check (with its connections closed). */
  readonly release: (context: Context) => void | Promise<void>;
  /** Longest a check may take. */
  readonly checkDeadlineMs: number;
  /** Called with each result as soon as it is known (progress output). */
  readonly onResult?: ((result: CheckResult) => void) | undefined;
}

/** Runs the checks in order; resolves with a result for each. */
export async function runChecks<Context>(
  checks: ReadonlyArray<Check<Context>>,
  options: RunChecksOptions<Context>,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    const context = options.contextFor(check);
    const started = Date.now();
    let status: CheckResult['status'];
    let reason = '';
    try {
      const note = await withDeadline(check.run(context), options.checkDeadlineMs, `end of the check`);
      status = 'pass';
      reason = typeof note === 'string' ? note : '';
    } catch (error) {
      status = error instanceof CheckSkipped ? 'skip' : 'fail';
      reason = messageOf(error);
    } finally {
      await options.release(context);
    }
    const result: CheckResult = {
      id: check.id,
      section: check.section,
      title: check.title,
      status,
      reason,
      durationMs: Date.now() - started,
    };
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

function messageOf(error: unknown): string {
  if (error instanceof CheckFailure || error instanceof CheckSkipped) return error.message;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

// What a conformance check is and how it ends: pass (returns), fail (CheckFailure) or
// skip (CheckSkipped), each with a reason a person can act on.

/** How one check ended. */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** The outcome of one check, as printed and as `--json` gives it. */
export interface CheckResult {
  readonly id: string;
  /** The docs/protocol.md section it tests, e.g. "2" or "3.4". */
  readonly section: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** Why it failed or was skipped; a note for some passes; empty otherwise. */
  readonly reason: string;
  readonly durationMs: number;
}

/** One check: small, independent, on connections of its own. */
export interface Check<Context> {
  /** Stable kebab-case name, used by --only. */
  readonly id: string;
  readonly section: string;
  /** What a conforming peer does, in one line. */
  readonly title: string;
  /** Resolves on a pass (optionally with a note); throws CheckFailure or CheckSkipped. */
  run(context: Context): Promise<string | void>;
}

/** Thrown by a check that found the peer breaking the contract. */
export class CheckFailure extends Error {
  readonly code = 'CHECK_FAILED';
  override readonly name = 'CheckFailure';
}

/** Thrown by a check that cannot apply to this peer (its settings, its tools). */
export class CheckSkipped extends Error {
  readonly code = 'CHECK_SKIPPED';
  override readonly name = 'CheckSkipped';
}

/** Fails the running check. */
export function fail(message: string): never {
  throw new CheckFailure(message);
}

/** Skips the running check. */
export function skip(message: string): never {
  throw new CheckSkipped(message);
}

/** Fails unless `actual` is `expected` (JSON equality), naming `what`. */
export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** A value for a message: JSON, shortened. */
export function show(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

// Bounded waiting: every wait of the conformance kit has a deadline, so that a broken
// peer can slow a run down but never hang it.
import { CheckFailure } from './check.js';

/** Resolves after `ms` milliseconds (pauses that the protocol's behaviour needs). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Settles like `promise`, or rejects with a CheckFailure saying what did not happen
 * within `ms` milliseconds.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailure(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

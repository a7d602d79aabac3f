// A deadline on one awaited event: a hang fails the test with what it waited for,
// instead of running into the whole test's timeout.
import { DEADLINE_MS } from './raw-client.js';

/** Settles like `promise`, or rejects if it has not settled after `ms`. */
export function within<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

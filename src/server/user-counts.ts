// Connections and running requests per user, across the server (the per-user limits
// `limits.maxConnectionsPerUser` and `limits.maxConcurrentPerUser` read them).
import type { UserCounters } from './connection-host.js';

/** Counts per principal: `principal` maps a user name to whose count it is. */
export class PerUserCounts implements UserCounters {
  readonly #counts = new Map<string, { connections: number; running: number }>();
  readonly #principal: (user: string) => string;

  constructor(principal: (user: string) => string) {
    this.#principal = principal;
  }

  connections(user: string): number {
    return this.#counts.get(this.#principal(user))?.connections ?? 0;
  }

  running(user: string): number {
    return this.#counts.get(this.#principal(user))?.running ?? 0;
  }

  change(user: string, what: 'connections' | 'running', delta: 1 | -1): void {
    const key = this.#principal(user);
    const counts = this.#counts.get(key) ?? { connections: 0, running: 0 };
    counts[what] += delta;
    // A user with nothing open leaves no entry: the map holds only who is connected now.
    if (counts.connections === 0 && counts.running === 0) this.#counts.delete(key);
    else this.#counts.set(key, counts);
  }
}

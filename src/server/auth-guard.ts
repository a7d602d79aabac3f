// Slows down and then locks out client addresses that keep failing authentication,
// so that a key cannot be guessed online. Bounded: at most MAX_TRACKED addresses are
// remembered (the oldest are forgotten first).

/** Lockout settings (`--auth-failures`, `--auth-lockout`). */
export interface AuthGuardSettings {
  /** Failures from one address within `windowMs` that lock it out. */
  readonly maxFailures: number;
  /** How long failures are remembered, and how long a lockout lasts. */
  readonly windowMs: number;
}

/** Defaults: 5 failures in a minute lock an address out for a minute. */
export const DEFAULT_AUTH_GUARD: AuthGuardSettings = { maxFailures: 5, windowMs: 60_000 };

const MAX_TRACKED = 10_000;
// Each failure answers a little later (tarpit), up to this.
const MAX_DELAY_MS = 2_000;
const DELAY_STEP_MS = 250;

interface Record {
  failures: number[];
  lockedUntil: number;
}

/** Per-address failure counts. `now` is injectable for tests of the arithmetic only. */
export class AuthGuard {
  readonly #settings: AuthGuardSettings;
  readonly #records = new Map<string, Record>();
  readonly #now: () => number;

  constructor(settings: AuthGuardSettings = DEFAULT_AUTH_GUARD, now: () => number = Date.now) {
    this.#settings = settings;
    this.#now = now;
  }

  /** Milliseconds the address stays locked out, or 0 when it may try. */
  lockedFor(address: string): number {
    const record = this.#records.get(address);
    if (record === undefined) return 0;
    return Math.max(0, record.lockedUntil - this.#now());
  }

  /** Records a failure; returns how long to wait before answering it. */
  failed(address: string): number {
    const now = this.#now();
    let record = this.#records.get(address);
    if (record === undefined) {
      if (this.#records.size >= MAX_TRACKED) {
        const oldest = this.#records.keys().next().value;
        if (oldest !== undefined) this.#records.delete(oldest);
      }
      record = { failures: [], lockedUntil: 0 };
    }
    // Re-insert so the map stays ordered by last activity.
    this.#records.delete(address);
    this.#records.set(address, record);
    record.failures = record.failures.filter((at) => now - at < this.#settings.windowMs);
    record.failures.push(now);
    if (record.failures.length >= this.#settings.maxFailures) record.lockedUntil = now + this.#settings.windowMs;
    return Math.min(MAX_DELAY_MS, DELAY_STEP_MS * record.failures.length);
  }

  /** A success from the address clears its failures. */
  succeeded(address: string): void {
    this.#records.delete(address);
  }
}

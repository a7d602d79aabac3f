// Slows down and then locks out logins that keep failing, so that a key cannot be
// guessed online, without letting one guesser lock out a whole classroom behind one
// address. Failures count per (address, user name): five wrong keys for "alice" lock
// out "alice" from that address only. A coarser count per address (much higher) stops
// spraying many names from one address; it spares the names that have logged in from
// that address before. Bounded: at most MAX_TRACKED entries of each kind are kept (the
// oldest are forgotten first), and user names are kept as fixed-size digests.
import { createHash } from 'node:crypto';
import type { LockoutScope } from '../protocol/lockout.js';

/** Lockout settings (`--auth-failures`, `--auth-failures-per-address`, `--auth-lockout`). */
export interface AuthGuardSettings {
  /** Failures of one user name from one address within `windowMs` that lock it out. */
  readonly maxFailures: number;
  /** How long failures are counted, and how long a lockout lasts. */
  readonly windowMs: number;
  /** Failures from one address, whatever the names, that lock the address out. Default 50. */
  readonly maxAddressFailures?: number;
}

/** Defaults: 5 failures of a name, or 50 of an address, in a minute lock it out for a minute. */
export const DEFAULT_AUTH_GUARD = {
  maxFailures: 5,
  windowMs: 60_000,
  maxAddressFailures: 50,
} as const satisfies AuthGuardSettings;

/** A login refused without a check: whom it holds back, and for how long (ms). */
export interface Lockout {
  readonly scope: LockoutScope;
  readonly ms: number;
}

const MAX_TRACKED = 10_000;
// Each failure of a name answers a little later (tarpit), up to this.
const MAX_DELAY_MS = 2_000;
const DELAY_STEP_MS = 250;
// How long a name that logged in from an address is spared that address's lockout.
const TRUSTED_MS = 24 * 60 * 60 * 1000;

interface Failures {
  since: number;
  count: number;
  lockedUntil: number;
}

/** Failure counts. `now` is injectable for tests of the arithmetic only. */
export class AuthGuard {
  readonly #settings: Required<AuthGuardSettings>;
  readonly #pairs = new Map<string, Failures>();
  readonly #addresses = new Map<string, Failures>();
  /** (address, user) pairs that logged in: when they stop being spared. */
  readonly #trusted = new Map<string, number>();
  readonly #now: () => number;

  constructor(settings: AuthGuardSettings = DEFAULT_AUTH_GUARD, now: () => number = Date.now) {
    this.#settings = { maxAddressFailures: DEFAULT_AUTH_GUARD.maxAddressFailures, ...settings };
    this.#now = now;
  }

  /** The lockout that holds back `user` from `address`, or undefined when it may try. */
  lockedOut(address: string, user: string): Lockout | undefined {
    const now = this.#now();
    const pair = pairKey(address, user);
    const own = (this.#pairs.get(pair)?.lockedUntil ?? 0) - now;
    if (own > 0) return { scope: 'user', ms: own };
    const shared = (this.#addresses.get(address)?.lockedUntil ?? 0) - now;
    if (shared > 0 && !((this.#trusted.get(pair) ?? 0) > now)) return { scope: 'address', ms: shared };
    return undefined;
  }

  /** Records a failure; returns how long to wait before answering it (ms). */
  failed(address: string, user: string): number {
    const pair = this.#count(this.#pairs, pairKey(address, user), this.#settings.maxFailures);
    this.#count(this.#addresses, address, this.#settings.maxAddressFailures);
    return Math.min(MAX_DELAY_MS, DELAY_STEP_MS * pair);
  }

  /** A login succeeded: the name's failures from the address are cleared, and it is spared that address's lockout. */
  succeeded(address: string, user: string): void {
    const pair = pairKey(address, user);
    this.#pairs.delete(pair);
    remember(this.#trusted, pair, this.#now() + TRUSTED_MS);
  }

  // Counts one failure under `key` (a fixed window of windowMs); returns the count.
  #count(records: Map<string, Failures>, key: string, max: number): number {
    const now = this.#now();
    const { windowMs } = this.#settings;
    let record = records.get(key);
    if (record === undefined || (now - record.since >= windowMs && now >= record.lockedUntil)) {
      record = { since: now, count: 0, lockedUntil: 0 };
    }
    record.count += 1;
    if (record.count >= max) record.lockedUntil = now + windowMs;
    remember(records, key, record);
    return record.count;
  }
}

// Sets `key`, most recent last, forgetting the oldest entry when the map is full.
function remember<T>(map: Map<string, T>, key: string, value: T): void {
  map.delete(key);
  if (map.size >= MAX_TRACKED) {
    const oldest = map.keys().next().value;
    // Stryker disable next-line ConditionalExpression: a full map has an oldest key; the test is for the type only.
    if (oldest !== undefined) map.delete(oldest);
  }
  map.set(key, value);
}

// A user name may be 64 KiB long: it is kept as a digest.
function pairKey(address: string, user: string): string {
  // Stryker disable next-line StringLiteral: with digest(''), the key holds the digest's bytes as text: still one key per name (two would need digests alike in every byte that decodes).
  return `${address}\u0000${createHash('sha256').update(user).digest('base64')}`;
}

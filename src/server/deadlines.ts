// Deadlines for many commands on one Node timer. A setTimeout per command costs more
// than it looks: when a command ends and its timer was the only one of that duration,
// Node drops the timer list, and the next command builds it again (measured: ~0.15 ms
// of a ~2.5 ms warm round trip). Here one timer is armed for the earliest deadline and
// left to fire even when its entry is gone; it then re-arms for what is left.
import { performance } from 'node:perf_hooks';

/** A scheduled call; pass it to `cancel`. */
export interface Deadline {
  readonly at: number;
  readonly run: () => void;
}

/** Calls functions at their deadlines (never early; late only by the event loop's lag). */
export class Deadlines {
  readonly #entries = new Set<Deadline>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** Calls `run` after `delayMs`, unless cancelled first. */
  schedule(delayMs: number, run: () => void): Deadline {
    const entry = { at: performance.now() + delayMs, run };
    this.#entries.add(entry);
    if (entry.at < this.#timerAt) this.#arm(entry.at);
    return entry;
  }

  /** Forgets a deadline (the timer, if armed for it, fires harmlessly). */
  cancel(entry: Deadline | undefined): void {
    if (entry !== undefined) this.#entries.delete(entry);
  }

  /** Deadlines still pending. */
  get size(): number {
    return this.#entries.size;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    // Unref'd: a pending deadline alone must not keep a finished server alive.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(at - performance.now()))).unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    const due: Deadline[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#entries) {
      if (entry.at <= now) due.push(entry);
      else next = Math.min(next, entry.at);
    }
    for (const entry of due) this.#entries.delete(entry);
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    for (const entry of due) entry.run();
  }
}

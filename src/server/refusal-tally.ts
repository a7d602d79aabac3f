// Counts repeated refusals so that a flood of them costs a few log lines, not one per
// refusal. Per key and interval, the first `budget` refusals are written in full (the
// caller writes them); the rest are only counted, and one summary with their count is
// written at the end of the interval. Bounded: at most `maxKeys` keys are tracked per
// interval; beyond that, refusals are counted under one overflow summary.

/** Tally settings. */
export interface RefusalTallySettings {
  /** How long refusals are counted before their summary is written, ms. */
  readonly intervalMs: number;
  /** Keys tracked at once; the rest count into the overflow summary. */
  readonly maxKeys: number;
}

/** Default: summaries every 10 s, at most 10,000 keys. */
export const DEFAULT_REFUSAL_TALLY: RefusalTallySettings = { intervalMs: 10_000, maxKeys: 10_000 };

/** Writes the summary of `count` refusals that were counted and not written. */
export type SummaryWriter = (count: number) => void;

interface Entry {
  written: number;
  counted: number;
  readonly summary: SummaryWriter;
}

/** One tally; `close()` writes what is pending and stops its timer. */
export class RefusalTally {
  readonly #settings: RefusalTallySettings;
  readonly #overflow: SummaryWriter;
  readonly #entries = new Map<string, Entry>();
  #overflowCount = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** `overflow` writes the summary of refusals that found no room for their own key. */
  constructor(settings: RefusalTallySettings, overflow: SummaryWriter) {
    this.#settings = settings;
    this.#overflow = overflow;
  }

  /** Keys tracked now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Counts one refusal under `key`. True: write it in full now (one of the first
   * `budget` of its key in this interval, or the tally is closed). False: it was
   * counted, and `summary` (the one given with the key's first refusal in the interval)
   * will report it.
   */
  count(key: string, summary: SummaryWriter, budget = 1): boolean {
    if (this.#closed) return true;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      if (this.#entries.size >= this.#settings.maxKeys) {
        this.#overflowCount += 1;
        return false;
      }
      entry = { written: 0, counted: 0, summary };
      this.#entries.set(key, entry);
      this.#start();
    }
    if (entry.written < budget) {
      entry.written += 1;
      return true;
    }
    entry.counted += 1;
    return false;
  }

  /** Writes the summaries of everything counted, and starts a new interval. */
  flush(): void {
    const entries = [...this.#entries.values()];
    const overflow = this.#overflowCount;
    this.#entries.clear();
    this.#overflowCount = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const entry of entries) if (entry.counted > 0) entry.summary(entry.counted);
    if (overflow > 0) this.#overflow(overflow);
  }

  /** Flushes and stops: later refusals are written in full (the server has stopped). */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  // One timer for the whole tally, armed by the first refusal of an interval; it never
  // keeps the process alive.
  #start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.flush(), this.#settings.intervalMs);
    this.#timer.unref();
  }
}

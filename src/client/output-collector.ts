// A command's stdout and stderr gathered in memory, within a limit of bytes held: the
// one collector behind client.run(), `rexec run --json` and the fan-out's --group and
// --json. Past the limit nothing more is kept, what was held is let go at once, and the
// owner is told (to kill the command, or to close its connection).
import type { Readable } from 'node:stream';
import type { RemoteProcess } from './remote-process.js';

/** Most output run() holds unless told otherwise (both streams together): 64 MiB. */
export const DEFAULT_MAX_BUFFER = 64 * 1024 * 1024;

/** Bytes of output held at once, shared by every collector given the same budget. */
export class OutputBudget {
  /** Most bytes held at once. */
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new RangeError(`a budget of bytes must be a whole number ≥ 0, not ${limit}`);
    this.limit = limit;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes`; false (and nothing taken) when that would pass the limit. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  /** Gives back bytes taken before. */
  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** What a collector gathered. */
export interface CollectedOutput {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
}

/**
 * Reads a process's stdout and stderr into memory, taking every chunk from `budget` (a
 * number is a budget of its own). The first chunk that does not fit ends the
 * collection: what was held goes back to the budget and `onOverflow` is called, once.
 */
export class OutputCollector {
  readonly #budget: OutputBudget;
  readonly #onOverflow: () => void;
  readonly #stdout: Buffer[] = [];
  readonly #stderr: Buffer[] = [];
  #held = 0;
  #open = true;
  #overflowed = false;

  constructor(remote: Pick<RemoteProcess, 'stdout' | 'stderr'>, budget: OutputBudget | number, onOverflow: () => void) {
    this.#budget = typeof budget === 'number' ? new OutputBudget(budget) : budget;
    this.#onOverflow = onOverflow;
    this.#gather(remote.stdout, this.#stdout);
    this.#gather(remote.stderr, this.#stderr);
  }

  /** True once the output passed the budget. */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** The budget's limit (bytes). */
  get limit(): number {
    return this.#budget.limit;
  }

  /**
   * Ends the collection and hands over what it gathered. Its bytes stay taken from the
   * budget: whoever takes the output gives them back (`budget.give`) once done with it.
   */
  take(): CollectedOutput {
    const output = { stdout: Buffer.concat(this.#stdout), stderr: Buffer.concat(this.#stderr) };
    this.#held = 0;
    this.#close();
    return output;
  }

  /** Ends the collection, letting go of what it held (given back to the budget). */
  drop(): void {
    this.#budget.give(this.#held);
    this.#held = 0;
    this.#close();
  }

  #gather(stream: Readable, chunks: Buffer[]): void {
    stream.on('data', (chunk: Buffer) => {
      if (!this.#open) return;
      if (!this.#budget.take(chunk.length)) {
        this.#overflowed = true;
        this.drop();
        this.#onOverflow();
        return;
      }
      this.#held += chunk.length;
      chunks.push(chunk);
    });
  }

  #close(): void {
    this.#open = false;
    this.#stdout.length = 0;
    this.#stderr.length = 0;
  }
}

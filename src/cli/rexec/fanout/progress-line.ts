// The live "N/M done" line of a fan-out, on stderr when it is a terminal: hidden while
// output is being written (so it never lands inside a host's line), drawn again once
// output pauses, and erased at the end before the summary.
import type { Writable } from 'node:stream';

/** How long output must pause before the line is drawn again (ms). */
const REDRAW_AFTER_MS = 100;
const ERASE = '\r\x1b[2K';

/** Where the line is drawn. */
export type ProgressStream = Writable & { readonly isTTY?: boolean; readonly columns?: number };

/** The progress of `total` hosts. */
export class ProgressLine {
  readonly #stream: ProgressStream;
  readonly #total: number;
  readonly #enabled: boolean;
  #done = 0;
  #failed = 0;
  #running = 0;
  #drawn = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(stream: ProgressStream, total: number) {
    this.#stream = stream;
    this.#total = total;
    this.#enabled = stream.isTTY === true;
  }

  /** New counts; drawn at once unless output is flowing. */
  update(counts: { readonly done: number; readonly failed: number; readonly running: number }): void {
    this.#done = counts.done;
    this.#failed = counts.failed;
    this.#running = counts.running;
    if (this.#timer === undefined) this.#draw();
  }

  /** Erases the line before output is written; it comes back when output pauses. */
  hide(): void {
    if (!this.#enabled || this.#stopped) return;
    if (this.#drawn) {
      this.#stream.write(ERASE);
      this.#drawn = false;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draw();
    }, REDRAW_AFTER_MS);
    this.#timer.unref();
  }

  /** Erases the line for good. */
  stop(): void {
    if (!this.#enabled || this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#drawn) this.#stream.write(ERASE);
    this.#drawn = false;
    this.#stopped = true;
  }

  #draw(): void {
    if (!this.#enabled || this.#stopped) return;
    const failed = this.#failed === 0 ? '' : ` (${this.#failed} failed)`;
    let text = `rexec: ${this.#done}/${this.#total} done${failed}, ${this.#running} running`;
    const width = this.#stream.columns;
    if (width !== undefined && width > 1 && text.length >= width) text = text.slice(0, width - 1);
    this.#stream.write(`${ERASE}${text}`);
    this.#drawn = true;
  }
}
